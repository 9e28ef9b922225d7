// The wall's token stays in the wall's browser (localStorage): after a power cut or a reboot
// the wall comes back by itself, with no one at a keyboard. It may arrive in the address's
// fragment (/wall#token=…), which no request carries, so the kiosk's start-up link can hold
// it; the page moves it to storage and out of the address bar.

import { session } from "/static/js/session.js";

const KEY = "firewatch.wall.token";

export function takeToken() {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromLink) {
    localStorage.setItem(KEY, fromLink.trim());
    history.replaceState(null, "", location.pathname + location.search);
  }
  // The console's modules read the token from the session: it is copied there.
  session.token = localStorage.getItem(KEY);
  return session.token;
}

export function keepToken(token) {
  localStorage.setItem(KEY, token);
  session.token = token;
}

export function dropToken() {
  localStorage.removeItem(KEY);
  session.token = null;
}
