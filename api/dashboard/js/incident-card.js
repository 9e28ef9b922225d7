// One incident as a card: the operator's unit of work. Its place, class colour and word, state,
// whether two devices confirm it, how many signals, the newest; its actions act on the whole
// incident (the server cascades them to its signals). It opens to its signals, each a way
// into its single alert.

import { CLASS_LABEL, STATE_LABEL } from "./classes.js";
import { button, h } from "./dom.js";
import { ago, clock, humanRule, incidentTitle, number } from "./format.js";
import { actOnIncident, me, mineLabel } from "./actions.js";
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
    can.has("ack") && button("ack", "Acknowledge", () => act("ack"), "btn btn-ack"),
    can.has("claim") && !incident.claimed_by && button("claim", "Claim", () => act("claim")),
    can.has("claim") && claimedByOther && button("take-over", "Take over", () => act("claim", { take_over: true })),
    // The server refuses to shelve a fire; the button is not even offered.
    can.has("shelve") && incident.class !== "fire" && button("shelve", "Shelve…", () => shelveDialog(title, (body) => act("shelve", body))),
    can.has("unshelve") && button("unshelve", "Unshelve", () => act("unshelve")),
    can.has("resolve") && button("resolve", "Resolve…", () => resolveDialog(title, (body) => act("resolve", body))),
    can.has("comment") && button("comment", "Comment…", () => commentDialog(title, (body) => act("comment", body))),
  );
}

function signalItem(signal, onSignal) {
  const facts = [
    STATE_LABEL[signal.state] ?? signal.state,
    signal.peak !== null && signal.peak !== undefined && `peak ${number(signal.peak)}${peakUnit(signal.rule)}`,
    signal.count > 1 && `×${signal.count}`,
    clock(signal.last_at),
  ];
  return h("li", { class: `signal ${signal.class}`, dataset: { alertId: signal.alert_id, state: signal.state } },
    h("button", { class: "link", type: "button", "data-action": "signal", onclick: () => onSignal(signal) },
      `${signal.device_id} · ${humanRule(signal.rule)}`),
    h("span", { class: "class-word" }, CLASS_LABEL[signal.class] ?? signal.class),
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
  }, `Signals (${signals.length})`);
  return [toggle, list];
}

function countsLine(counts) {
  if (!counts) return null;
  const signals = `${counts.signals} signal${counts.signals === 1 ? "" : "s"}`;
  const devices = `${counts.devices} device${counts.devices === 1 ? "" : "s"}`;
  const open = counts.open_signals < counts.signals ? ` (${counts.open_signals} open)` : "";
  return h("span", { "data-role": "counts" }, `${signals}${open} from ${devices}`);
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
      h("span", { class: "class-tag" }, CLASS_LABEL[incident.class] ?? incident.class),
      onDetails
        ? button("details", title, () => onDetails(incident), "rule link")
        : h("span", { class: "rule" }, title),
      incident.confirmed && h("span", { class: "confirmed", "data-role": "confirmed", title: `confirmed ${clock(incident.confirmed_at)}` }, "Confirmed"),
      h("span", { class: "when", title: incident.last_at }, clock(incident.last_at), " · ",
        h("span", { class: "ago", dataset: { t: incident.last_at } }, ago(incident.last_at)))),
    h("div", { class: "alert-meta" },
      h("span", { class: "state", "data-role": "state" }, STATE_LABEL[incident.state] ?? incident.state),
      countsLine(incident.counts),
      incident.shelved_until && incident.state === "shelved" && h("span", {}, `until ${clock(incident.shelved_until)}`),
    ),
    (incident.claimed_by || incident.acked_by || incident.cause) && h("div", { class: "alert-meta" },
      incident.claimed_by && h("span", { class: "claimed", "data-role": "claimed" }, mineLabel(incident.claimed_by, "Handled by")),
      // An acknowledgement the incident outgrew (it rose, was confirmed, came back) is history.
      incident.acked_by && h("span", {},
        `${waiting(incident) ? "was acknowledged" : "acknowledged"} by ${incident.acked_by} ${clock(incident.acked_at)}`),
      incident.cause && h("span", {}, `cause: ${incident.cause.replace("_", " ")}`)),
    actionButtons(incident),
    ...signalList(incident, onSignal, signalsOpen),
  );
}
