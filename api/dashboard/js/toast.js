// Short messages at the bottom of the screen; errors stay longer than confirmations.

import { h } from "./dom.js";

export function toast(text, { ok = false } = {}) {
  const el = h("div", { class: ok ? "toast ok" : "toast", role: ok ? "status" : "alert" }, text);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), ok ? 3000 : 9000);
}
