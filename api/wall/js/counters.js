// The strip of big numbers: open incidents by class (fire, pre-alarm, supervisory), the
// technicians' open trouble, and the devices online and offline.

import { CLASSES, classLabel } from "/static/js/classes.js";
import { h } from "/static/js/dom.js";
import { label, t } from "/static/js/i18n.js";
import { inIncident, state } from "/static/js/state.js";

// Live from the stream, like the console's top bar: incidents per class, trouble alerts apart.
function openByClass() {
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  for (const i of state.incidents.values()) if (i.state !== "resolved" && i.class in counts) counts[i.class] += 1;
  for (const a of state.alerts.values()) {
    if (a.state !== "resolved" && a.state !== "suppressed" && a.class === "trouble" && !inIncident(a)) counts.trouble += 1;
  }
  return counts;
}

const counter = (label, n, attrs) => h("div", { class: `counter ${attrs.class ?? ""}`, dataset: attrs.dataset },
  h("span", { class: "counter-n" }, String(n)),
  h("span", { class: "counter-label" }, label));

export function renderCounters(box) {
  const counts = openByClass();
  box.replaceChildren(...CLASSES.map((c) => counter(classLabel(c), counts[c], {
    class: `${c}${counts[c] ? " has" : ""}`, dataset: { class: c, count: counts[c] },
  })));
}

// From the overview (the engine's own offline rule), summed over the kinds of device.
export function renderDevices(box, overview) {
  const byKind = overview?.devices?.by_kind ?? {};
  // Until the first overview, nothing is known: a dash, not a reassuring zero.
  const sum = (s) => (overview ? Object.values(byKind).reduce((n, counts) => n + (counts[s] ?? 0), 0) : "—");
  const offline = sum("offline");
  box.replaceChildren(
    counter(label("deviceState", "online"), sum("online"), { class: "online", dataset: { state: "online" } }),
    counter(label("deviceState", "offline"), offline, { class: `offline${offline > 0 ? " has" : ""}`, dataset: { state: "offline" } }),
    counter(t("status.devices"), overview?.devices?.total ?? "—", { class: "total", dataset: { state: "total" } }),
  );
}
