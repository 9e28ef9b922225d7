// The quarter at a glance, from the overview: devices by state, alarm rate, hot spots.

import { h } from "./dom.js";
import { clock, number } from "./format.js";
import { label, t } from "./i18n.js";
import { metricLabel, metricUnit } from "./units.js";

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
  flood.textContent = rate.flood ? t("status.flood", { n: rate.incidents_last_10min }) : "";
  const figure = (term, value, attrs = {}) => [h("dt", {}, term), h("dd", attrs, String(value ?? "—"))];

  box.replaceChildren(
    h("dl", { class: "figures" },
      ...figure(t("status.devices"), overview.devices?.total),
      ...DEVICE_STATES.filter((s) => totals[s] || s === "offline")
        .flatMap((s) => figure(label("deviceState", s), totals[s], { dataset: { state: s } })),
      ...figure(t("status.incidents10"), rate.incidents_last_10min, { "data-role": "incidents-10min" }),
      ...figure(t("status.signals10"), rate.last_10min),
      ...figure(t("status.chattering"), chattering.length, { title: chattering.join(", ") }),
    ),
    h("h2", { id: "hot-spots-title" }, t("status.hotSpots")),
    (overview.hot_spots ?? []).length
      ? h("ol", { class: "hot-spots", "aria-labelledby": "hot-spots-title", tabindex: "0" },
        ...overview.hot_spots.map((spot) => h("li", {},
          h("button", { class: "btn btn-quiet", type: "button", title: metricLabel(spot.metric), onclick: () => onDevice(spot.device_id) },
            h("span", { class: "spot-where" }, h("span", {}, spot.device_id),
              spot.building ? h("span", { class: "muted small" }, spot.building) : null),
            h("strong", {}, `${number(spot.value)} ${metricUnit(spot.metric)}`)))))
      : h("p", { class: "muted" }, t("status.none")),
    h("p", { class: "muted small" }, t("status.at", { time: clock(overview.generated_at) })),
  );
}
