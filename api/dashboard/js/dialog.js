// Resolve, shelve and comment ask for a cause, a reason or a text in one modal dialog;
// everything else is one click. Each dialog hands its body to `submit` (an incident's or an
// alert's action), which returns a truthy value once the server took it.

import { CAUSES } from "./classes.js";
import { h } from "./dom.js";

const SHELVE_MINUTES = [15, 30, 60, 120, 240, 480];

function open(title, fields, onSubmit) {
  const dialog = document.getElementById("action-dialog");
  const form = document.getElementById("action-form");
  const error = h("p", { class: "error", role: "alert", hidden: true });
  form.replaceChildren(
    h("h2", {}, title),
    ...fields,
    error,
    h("div", { class: "dialog-buttons" },
      h("button", { type: "button", class: "btn btn-quiet", onclick: () => dialog.close() }, "Cancel"),
      h("button", { type: "submit", class: "btn btn-primary" }, "Confirm")),
  );
  form.onsubmit = async (event) => {
    event.preventDefault();
    const done = await onSubmit(new FormData(form));
    if (done) dialog.close();
  };
  dialog.showModal();
  form.querySelector("input, select, textarea")?.focus();
}

export function resolveDialog(what, submit) {
  // No cause is preselected: the operator states what it was.
  const causes = CAUSES.map(([value, label]) =>
    h("label", {}, h("input", { type: "radio", name: "cause", value, required: true }), label));
  open(`Resolve: ${what}`, [
    h("fieldset", { class: "choices" }, h("legend", { class: "muted" }, "Cause"), ...causes),
    h("label", { for: "resolve-note" }, "Note (what was found on site)"),
    h("textarea", { id: "resolve-note", name: "note", rows: 3, maxlength: 2000 }),
  ], async (data) => {
    const note = data.get("note").trim();
    return submit({ cause: data.get("cause"), note: note || null });
  });
}

export function shelveDialog(what, submit) {
  open(`Shelve: ${what}`, [
    h("label", { for: "shelve-minutes" }, "For"),
    h("select", { id: "shelve-minutes", name: "minutes" },
      ...SHELVE_MINUTES.map((m) => h("option", { value: m, selected: m === 60 ? true : null }, m < 60 ? `${m} min` : `${m / 60} h`))),
    h("label", { for: "shelve-reason" }, "Reason (at least 3 characters)"),
    h("input", { id: "shelve-reason", name: "reason", required: true, minlength: 3, maxlength: 500 }),
  ], async (data) => submit({ minutes: Number(data.get("minutes")), reason: data.get("reason").trim() }));
}

export function commentDialog(what, submit) {
  open(`Comment: ${what}`, [
    h("label", { for: "comment-text" }, "Note for the log"),
    h("textarea", { id: "comment-text", name: "text", rows: 3, required: true, maxlength: 2000 }),
  ], async (data) => submit({ text: data.get("text").trim() }));
}
