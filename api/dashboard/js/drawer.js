// The side drawer's shell: one drawer at a time. Each opening gets a number, so a slow answer
// for a drawer since replaced never paints over the one on show.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { state } from "./state.js";

let opened = 0;
let cleanups = [];

function forget() {
  cleanups.forEach((cleanup) => cleanup());
  cleanups = [];
}

// Shows the drawer; returns a function that tells whether it is still this one on show.
export function show(title, ...children) {
  forget();
  const mine = ++opened;
  document.getElementById("drawer-title").textContent = title;
  document.getElementById("drawer-body").replaceChildren(...children.filter(Boolean));
  document.getElementById("drawer").hidden = false;
  return () => mine === opened;
}

// Runs when the drawer on show is replaced or closed (e.g. to free a blob: URL).
export function onReplaced(cleanup) {
  cleanups.push(cleanup);
}

export function closeDrawer() {
  forget();
  opened += 1;
  state.selected = null;
  document.getElementById("drawer").hidden = true;
  document.getElementById("drawer-body").replaceChildren();
}

export function facts(pairs) {
  return h("dl", { class: "facts" }, ...pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

export function failure(error) {
  return h("p", { class: "error" }, error instanceof ApiError ? error.message : String(error));
}
