// One incident as a card: the operator's unit of work. Its place, class colour and word, state,
// whether two devices confirm it, how many signals, the newest; its actions act on the whole
// incident (the server cascades them to its signals). It opens to its signals, each a way
// into its single alert.

import { classLabel, stateLabel } from "./classes.js";
import { button, h } from "./dom.js";
import { ago, clock, humanRule, incidentTitle, number, stamp } from "./format.js";
import { label, t } from "./i18n.js";
import { actOnIncident, handledBy, me } from "./actions.js";
import { commentDialog, resolveDialog, shelveDialog } from "./dialog.js";
import { waiting } from "./state.js";
import { peakUnit } from "./units.js";

const expanded = new Set(); // incident ids whose signals are on show, kept across redraws

function actionButtons(incident) {
  const can = new Set(incident.allowed ?? []);
  const act = (action, body) => actOnIncident(incident, action, body);
  const title = incidentTitle(incident);
  const claimedByOther = incident.claimed_by && incident.claimed_by !== me.name;
  return h("div", { class: "alert-actions" },
    can.has("ack") && button("ack", t("button.ack"), () => act("ack"), "btn btn-ack"),
    can.has("claim") && !incident.claimed_by && button("claim", t("button.claim"), () => act("claim")),
    can.has("claim") && claimedByOther && button("take-over", t("button.takeOver"), () => act("claim", { take_over: true })),
    // The server refuses to shelve a fire; the button is not even offered.
    can.has("shelve") && incident.class !== "fire" && button("shelve", t("button.shelve"), () => shelveDialog(title, (body) => act("shelve", body))),
    can.has("unshelve") && button("unshelve", t("button.unshelve"), () => act("unshelve")),
    can.has("resolve") && button("resolve", t("button.resolve"), () => resolveDialog(title, (body) => act("resolve", body))),
    can.has("comment") && button("comment", t("button.comment"), () => commentDialog(title, (body) => act("comment", body))),
  );
}

function signalItem(signal, onSignal) {
  const facts = [
    stateLabel(signal.state),
    signal.peak !== null && signal.peak !== undefined && t("card.peak", { value: `${number(signal.peak)}${peakUnit(signal.rule)}` }),
    signal.count > 1 && `×${signal.count}`,
    clock(signal.last_at),
  ];
  return h("li", { class: `signal ${signal.class}`, dataset: { alertId: signal.alert_id, state: signal.state } },
    h("button", { class: "link", type: "button", "data-action": "signal", onclick: () => onSignal(signal) },
      `${signal.device_id} · ${humanRule(signal.rule)}`),
    h("span", { class: "class-word" }, classLabel(signal.class)),
    h("span", { class: "signal-facts" }, facts.filter(Boolean).join(" · ")));
}

function signalList(incident, onSignal, signalsOpen) {
  const signals = incident.signals ?? [];
  const open = signalsOpen || expanded.has(incident.id);
  const list = h("ol", { class: "signals", hidden: !open }, ...signals.map((s) => signalItem(s, onSignal)));
  const toggle = h("button", {
    class: "btn btn-quiet signals-toggle",
    type: "button",
    "data-action": "signals",
    "aria-expanded": String(open),
    onclick: () => {
      const show = list.hidden;
      if (show) expanded.add(incident.id);
      else expanded.delete(incident.id);
      list.hidden = !show;
      toggle.setAttribute("aria-expanded", String(show));
    },
  }, t("card.signals", { n: signals.length }));
  return [toggle, list];
}

function countsLine(counts) {
  if (!counts) return null;
  const params = {
    signals: t("card.signalCount", { n: counts.signals }), devices: t("card.deviceCount", { n: counts.devices }), open: counts.open_signals,
  };
  const text = t(counts.open_signals < counts.signals ? "card.countsOpen" : "card.counts", params);
  return h("span", { "data-role": "counts" }, text);
}

// `signalsOpen`: the signals show from the start (the incident's own drawer).
export function incidentCard(incident, { onDetails, onSignal, signalsOpen = false }) {
  const title = incidentTitle(incident);
  return h("li", {
    class: `alert incident ${incident.class} ${incident.state}`,
    dataset: {
      id: incident.id, class: incident.class, state: incident.state,
      confirmed: String(Boolean(incident.confirmed)), building: incident.building ?? "",
    },
  },
    h("div", { class: "alert-head" },
      h("span", { class: "class-tag" }, classLabel(incident.class)),
      onDetails
        ? button("details", title, () => onDetails(incident), "rule link")
        : h("span", { class: "rule" }, title),
      incident.confirmed && h("span", { class: "confirmed", "data-role": "confirmed", title: t("card.confirmedAt", { time: stamp(incident.confirmed_at) }) },
        t("card.confirmed")),
      h("span", { class: "when", title: stamp(incident.last_at) }, clock(incident.last_at), " · ",
        h("span", { class: "ago", dataset: { t: incident.last_at } }, ago(incident.last_at)))),
    h("div", { class: "alert-meta" },
      h("span", { class: "state", "data-role": "state" }, stateLabel(incident.state)),
      countsLine(incident.counts),
      incident.shelved_until && incident.state === "shelved" && h("span", {}, t("card.until", { time: clock(incident.shelved_until) })),
    ),
    (incident.claimed_by || incident.acked_by || incident.cause) && h("div", { class: "alert-meta" },
      incident.claimed_by && h("span", { class: "claimed", "data-role": "claimed" }, handledBy(incident.claimed_by)),
      // An acknowledgement the incident outgrew (it rose, was confirmed, came back) is history.
      incident.acked_by && h("span", {},
        t(waiting(incident) ? "card.wasAckedBy" : "card.ackedBy", { name: incident.acked_by, time: clock(incident.acked_at) })),
      incident.cause && h("span", {}, t("card.cause", { cause: label("cause", incident.cause) }))),
    actionButtons(incident),
    ...signalList(incident, onSignal, signalsOpen),
  );
}
