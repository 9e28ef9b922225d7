// The top bar: open incidents and trouble per class (each a filter), the live-stream indicator, the sound switch.

import { CLASSES, classLabel } from "./classes.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { changed, inIncident, state } from "./state.js";

// Fire, pre-alarm and supervisory count open incidents; trouble counts the technicians' alerts
// (it is never an incident). A chip filters the list that holds its class.
export function renderFilters() {
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  for (const i of state.incidents.values()) if (i.state !== "resolved" && i.class in counts) counts[i.class] += 1;
  for (const a of state.alerts.values()) if (a.state !== "resolved" && a.class === "trouble" && !inIncident(a)) counts.trouble += 1;
  document.getElementById("class-filters").replaceChildren(...CLASSES.map((c) => h("button", {
    type: "button",
    class: `chip chip-${c}${counts[c] ? " has" : ""}`,
    "aria-pressed": String(state.filter === c),
    title: state.filter === c ? t("filter.all") : t("filter.only", { class: classLabel(c) }),
    dataset: { class: c, count: counts[c] },
    onclick: () => {
      state.filter = state.filter === c ? null : c;
      if (state.filter) state.tab = c === "trouble" ? "alerts" : "incidents";
      changed("filter");
    },
  }, h("b", {}, String(counts[c])), classLabel(c))));
}

export function renderConnection(status, text) {
  const el = document.getElementById("connection");
  el.className = `conn conn-${status}`;
  el.dataset.status = status;
  el.querySelector(".conn-text").textContent = status === "live" ? t("conn.live") : status === "down" ? t("conn.down", { why: text }) : text;
}

// The sound switch says whether sound is on and whether the fire tone is sounding.
export function renderSound(sounder) {
  const button = document.getElementById("sound");
  button.dataset.sounding = sounder.sounding ? "fire" : "off";
  button.textContent = !sounder.enabled ? t("sound.enable") : sounder.sounding ? t("sound.fire") : t("sound.on");
  button.className = `btn ${sounder.enabled ? "btn-sound-on" : "btn-sound-off"}`;
  button.setAttribute("aria-pressed", String(sounder.enabled));
}

export function wireSound(sounder, onChange) {
  document.getElementById("sound").addEventListener("click", async () => {
    await (sounder.enabled ? sounder.disable() : sounder.enable());
    onChange();
    renderSound(sounder);
  });
  renderSound(sounder);
}
