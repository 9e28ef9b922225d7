// Resolve, shelve and comment ask for a cause, a reason or a text in one modal dialog;
// everything else is one click. Each dialog hands its body to `submit` (an incident's or an
// alert's action), which returns a truthy value once the server took it.

import { CAUSES } from "./classes.js";
import { h } from "./dom.js";
import { label, t } from "./i18n.js";

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
      h("button", { type: "button", class: "btn btn-quiet", onclick: () => dialog.close() }, t("dialog.cancel")),
      h("button", { type: "submit", class: "btn btn-primary" }, t("dialog.confirm"))),
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
  const causes = CAUSES.map((value) =>
    h("label", {}, h("input", { type: "radio", name: "cause", value, required: true }), label("cause", value)));
  open(t("dialog.resolve", { what }), [
    h("fieldset", { class: "choices" }, h("legend", { class: "muted" }, t("dialog.cause")), ...causes),
    h("label", { for: "resolve-note" }, t("dialog.resolveNote")),
    h("textarea", { id: "resolve-note", name: "note", rows: 3, maxlength: 2000 }),
  ], async (data) => {
    const note = data.get("note").trim();
    return submit({ cause: data.get("cause"), note: note || null });
  });
}

export function shelveDialog(what, submit) {
  open(t("dialog.shelve", { what }), [
    h("label", { for: "shelve-minutes" }, t("dialog.shelveFor")),
    h("select", { id: "shelve-minutes", name: "minutes" },
      ...SHELVE_MINUTES.map((m) => h("option", { value: m, selected: m === 60 ? true : null },
        m < 60 ? t("duration.minutes", { n: m }) : t("duration.hours", { n: m / 60 })))),
    h("label", { for: "shelve-reason" }, t("dialog.shelveReason")),
    h("input", { id: "shelve-reason", name: "reason", required: true, minlength: 3, maxlength: 500 }),
  ], async (data) => submit({ minutes: Number(data.get("minutes")), reason: data.get("reason").trim() }));
}

export function commentDialog(what, submit) {
  open(t("dialog.comment", { what }), [
    h("label", { for: "comment-text" }, t("dialog.commentText")),
    h("textarea", { id: "comment-text", name: "text", rows: 3, required: true, maxlength: 2000 }),
  ], async (data) => submit({ text: data.get("text").trim() }));
}
