// One alert as a card: class colour and word, state, where, when, who, and its actions. The
// technicians' list shows these; an incident's signals open one in the alert drawer.

import { allowedActions, classLabel, stateLabel } from "./classes.js";
import { button, h } from "./dom.js";
import { ago, clock, humanRule, number, stamp } from "./format.js";
import { label, t } from "./i18n.js";
import { act, handledBy, me } from "./actions.js";
import { resolveDialog, shelveDialog } from "./dialog.js";
import { peakUnit } from "./units.js";

const what = (alert) => `${humanRule(alert.rule)} · ${alert.subject}`;

function actionButtons(alert) {
  const can = allowedActions(alert);
  const claimedByOther = alert.claimed_by && alert.claimed_by !== me.name;
  return h("div", { class: "alert-actions" },
    can.ack && button("ack", t("button.ack"), () => act(alert, "ack"), "btn btn-ack"),
    can.claim && !alert.claimed_by && button("claim", t("button.claim"), () => act(alert, "claim")),
    can.claim && claimedByOther && button("take-over", t("button.takeOver"), () => act(alert, "claim", { take_over: true })),
    can.shelve && button("shelve", t("button.shelve"), () => shelveDialog(what(alert), (body) => act(alert, "shelve", body))),
    can.unshelve && button("unshelve", t("button.unshelve"), () => act(alert, "unshelve")),
    can.resolve && button("resolve", t("button.resolve"), () => resolveDialog(what(alert), (body) => act(alert, "resolve", body))),
  );
}

export function alertCard(alert, { onDetails } = {}) {
  return h("li", {
    class: `alert ${alert.class} ${alert.state}`,
    dataset: { id: alert.id, class: alert.class, state: alert.state },
  },
    h("div", { class: "alert-head" },
      h("span", { class: "class-tag" }, classLabel(alert.class)),
      onDetails
        ? button("details", humanRule(alert.rule), () => onDetails(alert), "rule link")
        : h("span", { class: "rule" }, humanRule(alert.rule)),
      h("span", { class: "when", title: stamp(alert.raised_at) }, clock(alert.raised_at), " · ",
        h("span", { class: "ago", dataset: { t: alert.raised_at } }, ago(alert.raised_at)))),
    h("div", { class: "alert-meta" },
      h("span", { class: "state", "data-role": "state" }, stateLabel(alert.state)),
      h("strong", {}, alert.subject),
      alert.building && h("span", {}, t("place.building", { id: alert.building })),
      alert.peak !== null && h("span", {}, t("card.peak", { value: `${number(alert.peak)}${peakUnit(alert.rule)}` })),
      alert.count > 1 && h("span", {}, `×${alert.count}`),
      alert.escalation_level > 0 && h("span", { class: "flag" }, t("card.escalated", { level: alert.escalation_level })),
      alert.chattering && h("span", { class: "flag" }, t("card.chattering")),
      alert.suppressed_reason && h("span", {}, t("card.suppressed", { reason: label("suppressed", alert.suppressed_reason) })),
      alert.shelved_until && alert.state === "shelved" && h("span", {}, t("card.until", { time: clock(alert.shelved_until) })),
    ),
    (alert.claimed_by || alert.acked_by) && h("div", { class: "alert-meta" },
      alert.claimed_by && h("span", { class: "claimed", "data-role": "claimed" }, handledBy(alert.claimed_by)),
      alert.acked_by && h("span", {}, t("card.ackedBy", { name: alert.acked_by, time: clock(alert.acked_at) })),
      alert.cause && h("span", {}, t("card.cause", { cause: label("cause", alert.cause) }))),
    actionButtons(alert),
  );
}
