// The live list, on two tabs: the incidents operators work, and the technicians' alerts
// (trouble, roll-ups, suppressed: in no incident). Cards are rebuilt only when their item
// changed, so scrolling, an opened signal list and a button under the pointer survive the
// stream's updates.

import { classLabel } from "./classes.js";
import { ago } from "./format.js";
import { t } from "./i18n.js";
import { alertCard } from "./alert-card.js";
import { incidentCard } from "./incident-card.js";
import { changed, inIncident, sortedIncidents, state, technicianAlerts } from "./state.js";

const ARRIVED_MS = 4000;
const cards = { incidents: new Map(), alerts: new Map() }; // kind -> id -> { version, el }
const arrivedAt = { incidents: new Map(), alerts: new Map() }; // kind -> id -> performance.now()

// Outlines a card for a few seconds: an incident that called the operator, a new trouble alert.
export function markArrived(kind, id) {
  arrivedAt[kind].set(id, performance.now());
  setTimeout(() => changed(kind), ARRIVED_MS + 50);
}

const VERSIONS = {
  alerts: (a) => `${a.updated_at}|${a.state}|${a.claimed_by}`,
  // A signal may change without its incident (a newer peak, a rule moving up in its class).
  incidents: (i) => `${i.updated_at}|${i.state}|${i.claimed_by}|${JSON.stringify(i.signals)}`,
};

function renderCards(kind, items, build) {
  const now = performance.now();
  const keep = new Set();
  const els = items.map((item) => {
    keep.add(item.id);
    const version = VERSIONS[kind](item);
    let known = cards[kind].get(item.id);
    if (!known || known.version !== version) {
      known = { version, el: build(item) };
      cards[kind].set(item.id, known);
    }
    known.el.classList.toggle("arrived", now - (arrivedAt[kind].get(item.id) ?? -Infinity) < ARRIVED_MS);
    return known.el;
  });
  for (const id of cards[kind].keys()) if (!keep.has(id)) cards[kind].delete(id);
  for (const id of arrivedAt[kind].keys()) if (!keep.has(id)) arrivedAt[kind].delete(id);
  return els;
}

function countOpen(items) {
  return [...items].filter((i) => i.state !== "resolved").length;
}

export function renderLiveList({ onIncident, onSignal, onAlert }) {
  const incidents = renderCards("incidents", sortedIncidents(),
    (i) => incidentCard(i, { onDetails: onIncident, onSignal }));
  const alerts = renderCards("alerts", technicianAlerts(), (a) => alertCard(a, { onDetails: onAlert }));
  const onIncidents = state.tab === "incidents";
  document.getElementById("incident-list").replaceChildren(...incidents);
  document.getElementById("alert-list").replaceChildren(...alerts);
  document.getElementById("incident-list").hidden = !onIncidents;
  document.getElementById("alert-list").hidden = onIncidents;

  const shown = onIncidents ? incidents.length : alerts.length;
  const empty = document.getElementById("list-empty");
  empty.hidden = shown > 0;
  empty.textContent = state.filter
    ? t("list.emptyClass", { class: classLabel(state.filter) })
    : onIncidents ? t("list.emptyIncidents") : t("list.emptyAlerts");

  const openIncidents = countOpen(state.incidents.values());
  const openAlerts = countOpen([...state.alerts.values()].filter((a) => !inIncident(a)));
  for (const [tab, count] of [["incidents", openIncidents], ["alerts", openAlerts]]) {
    const el = document.querySelector(`#list-tabs [data-tab="${tab}"]`);
    el.setAttribute("aria-pressed", String(state.tab === tab));
    el.dataset.count = count;
    el.querySelector(".count").textContent = `(${count})`;
  }
}

export function wireTabs() {
  for (const el of document.querySelectorAll("#list-tabs [data-tab]")) {
    el.addEventListener("click", () => {
      state.tab = el.dataset.tab;
      changed("tab");
    });
  }
}

export function refreshAges() {
  for (const el of document.querySelectorAll(".ago")) el.textContent = ago(el.dataset.t);
}
