// The quarter at a glance, from the overview: devices by state, alarm rate, hot spots.

import { h } from "./dom.js";
import { clock, number } from "./format.js";
import { metricUnit } from "./units.js";

const DEVICE_STATES = ["online", "offline", "fault", "maintenance", "commissioning"];

export function renderStatus(overview, { onDevice }) {
  const box = document.getElementById("status");
  const flood = document.getElementById("flood");
  if (!overview) return;
  const byKind = overview.devices?.by_kind ?? {};
  const totals = Object.fromEntries(DEVICE_STATES.map((s) => [s, 0]));
  for (const counts of Object.values(byKind)) for (const s of DEVICE_STATES) totals[s] += counts[s] ?? 0;
  const rate = overview.alarm_rate ?? {};
  const chattering = rate.chattering_devices ?? [];
  flood.hidden = !rate.flood;
  // A flood counts incidents, what operators must act on, not the signals inside them.
  flood.textContent = rate.flood ? `ALARM FLOOD: ${rate.incidents_last_10min} new incidents in the last 10 minutes. Deal with fire first.` : "";

  box.replaceChildren(
    h("dl", { class: "figures" },
      h("dt", {}, "Devices"), h("dd", {}, String(overview.devices?.total ?? "—")),
      ...DEVICE_STATES.filter((s) => totals[s] || s === "offline").flatMap((s) => [h("dt", {}, s), h("dd", { dataset: { state: s } }, String(totals[s]))]),
      h("dt", {}, "Incidents, last 10 min"), h("dd", { "data-role": "incidents-10min" }, String(rate.incidents_last_10min ?? "—")),
      h("dt", {}, "Signals, last 10 min"), h("dd", {}, String(rate.last_10min ?? "—")),
      h("dt", {}, "Chattering devices"), h("dd", { title: chattering.join(", ") }, String(chattering.length)),
    ),
    h("h2", {}, "Hot spots"),
    (overview.hot_spots ?? []).length
      ? h("ol", { class: "hot-spots" }, ...overview.hot_spots.slice(0, 6).map((spot) => h("li", {},
        h("button", { class: "btn btn-quiet", type: "button", title: spot.metric, onclick: () => onDevice(spot.device_id) },
          h("span", {}, `${spot.device_id}${spot.building ? ` · ${spot.building}` : ""}`),
          h("strong", {}, `${number(spot.value)} ${metricUnit(spot.metric)}`)))))
      : h("p", { class: "muted" }, "None."),
    h("p", { class: "muted small" }, `Overview at ${clock(overview.generated_at)}`),
  );
}
