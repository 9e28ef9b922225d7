// The wall's token stays in the wall's browser (localStorage): after a power cut or a reboot
// the wall comes back by itself, with no one at a keyboard. It may arrive in the address's
// fragment (/wall#token=…), which no request carries, so the kiosk's start-up link can hold
// it; the page takes it out of the address bar.

import { session } from "/static/js/session.js";

const KEY = "firewatch.wall.token";

export function tokenFromLink() {
  const given = new URLSearchParams(location.hash.slice(1)).get("token")?.trim();
  if (given) history.replaceState(null, "", location.pathname + location.search);
  return given || null;
}

export function storedToken() {
  return localStorage.getItem(KEY);
}

// The console's modules read the token from the session: it is kept in both.
export function keepToken(token) {
  localStorage.setItem(KEY, token);
  session.token = token;
}

export function dropToken() {
  localStorage.removeItem(KEY);
  session.token = null;
}
