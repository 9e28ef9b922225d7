// The live list, newest first. Cards are rebuilt only when their alert changed, so scrolling
// and a button under the pointer survive the stream's updates.

import { ago } from "./format.js";
import { alertCard } from "./alert-card.js";
import { sortedAlerts, state } from "./state.js";

const cards = new Map(); // id -> { version, el }
const ARRIVED_MS = 4000;
let primed = false; // the first load is not news

export function renderAlertList({ onDetails }) {
  const list = document.getElementById("alert-list");
  const alerts = sortedAlerts();
  const keep = new Set();
  const els = alerts.map((alert) => {
    keep.add(alert.id);
    const version = `${alert.updated_at}|${alert.state}|${alert.claimed_by}`;
    const known = cards.get(alert.id);
    if (known && known.version === version) return known.el;
    const el = alertCard(alert, { onDetails });
    if (!known && primed) {
      el.classList.add("arrived");
      setTimeout(() => el.classList.remove("arrived"), ARRIVED_MS);
    }
    cards.set(alert.id, { version, el });
    return el;
  });
  for (const id of cards.keys()) if (!keep.has(id)) cards.delete(id);
  if (state.alertsLoaded) primed = true;
  list.replaceChildren(...els);
  document.getElementById("alerts-empty").hidden = els.length > 0;
  const open = [...state.alerts.values()].filter((a) => a.state !== "resolved").length;
  document.getElementById("alerts-count").textContent = state.filter ? `(${els.length} ${state.filter} of ${open} open)` : `(${open} open)`;
}

export function refreshAges() {
  for (const el of document.querySelectorAll(".ago")) el.textContent = ago(el.dataset.t);
}
