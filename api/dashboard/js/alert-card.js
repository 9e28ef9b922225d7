// One alert as a card: class colour and word, state, where, when, who, and its actions. The
// technicians' list shows these; an incident's signals open one in the alert drawer.

import { CLASS_LABEL, STATE_LABEL, allowedActions } from "./classes.js";
import { button, h } from "./dom.js";
import { ago, clock, humanRule, number } from "./format.js";
import { act, me, mineLabel } from "./actions.js";
import { resolveDialog, shelveDialog } from "./dialog.js";
import { peakUnit } from "./units.js";

const what = (alert) => `${humanRule(alert.rule)} · ${alert.subject}`;

function actionButtons(alert) {
  const can = allowedActions(alert);
  const claimedByOther = alert.claimed_by && alert.claimed_by !== me.name;
  return h("div", { class: "alert-actions" },
    can.ack && button("ack", "Acknowledge", () => act(alert, "ack"), "btn btn-ack"),
    can.claim && !alert.claimed_by && button("claim", "Claim", () => act(alert, "claim")),
    can.claim && claimedByOther && button("take-over", "Take over", () => act(alert, "claim", { take_over: true })),
    can.shelve && button("shelve", "Shelve…", () => shelveDialog(what(alert), (body) => act(alert, "shelve", body))),
    can.unshelve && button("unshelve", "Unshelve", () => act(alert, "unshelve")),
    can.resolve && button("resolve", "Resolve…", () => resolveDialog(what(alert), (body) => act(alert, "resolve", body))),
  );
}

export function alertCard(alert, { onDetails } = {}) {
  const where = [alert.building && `building ${alert.building}`].filter(Boolean).join(" · ");
  return h("li", {
    class: `alert ${alert.class} ${alert.state}`,
    dataset: { id: alert.id, class: alert.class, state: alert.state },
  },
    h("div", { class: "alert-head" },
      h("span", { class: "class-tag" }, CLASS_LABEL[alert.class] ?? alert.class),
      onDetails
        ? button("details", humanRule(alert.rule), () => onDetails(alert), "rule link")
        : h("span", { class: "rule" }, humanRule(alert.rule)),
      h("span", { class: "when", title: alert.raised_at }, clock(alert.raised_at), " · ",
        h("span", { class: "ago", dataset: { t: alert.raised_at } }, ago(alert.raised_at)))),
    h("div", { class: "alert-meta" },
      h("span", { class: "state", "data-role": "state" }, STATE_LABEL[alert.state] ?? alert.state),
      h("strong", {}, alert.subject),
      where && h("span", {}, where),
      alert.peak !== null && h("span", {}, `peak ${number(alert.peak)}${peakUnit(alert.rule)}`),
      alert.count > 1 && h("span", {}, `×${alert.count}`),
      alert.escalation_level > 0 && h("span", { class: "flag" }, `escalated L${alert.escalation_level}`),
      alert.chattering && h("span", { class: "flag" }, "chattering"),
      alert.suppressed_reason && h("span", {}, `suppressed: ${alert.suppressed_reason}`),
      alert.shelved_until && alert.state === "shelved" && h("span", {}, `until ${clock(alert.shelved_until)}`),
    ),
    (alert.claimed_by || alert.acked_by) && h("div", { class: "alert-meta" },
      alert.claimed_by && h("span", { class: "claimed", "data-role": "claimed" },
        mineLabel(alert.claimed_by, "Handled by")),
      alert.acked_by && h("span", {}, `acknowledged by ${alert.acked_by} ${clock(alert.acked_at)}`),
      alert.cause && h("span", {}, `cause: ${alert.cause.replace("_", " ")}`)),
    actionButtons(alert),
  );
}
