// The building drawer: its open incident, the technicians' alerts there, and its devices, each
// a way into its own drawer.

import { h } from "./dom.js";
import { label, t } from "./i18n.js";
import { alertCard } from "./alert-card.js";
import { openAlert } from "./alert-drawer.js";
import { openDevice } from "./device-drawer.js";
import { facts, show } from "./drawer.js";
import { incidentCard } from "./incident-card.js";
import { openIncident } from "./incident-drawer.js";
import { inIncident, liveClasses, state } from "./state.js";

function deviceButton(device, alertClass) {
  const notes = [label("kind", device.kind), device.online === false && t("device.offline"),
    device.status !== "active" && label("deviceStatus", device.status)];
  return h("button", { class: `btn device ${alertClass ?? ""}`, type: "button", onclick: () => openDevice(device.id) },
    [device.id, ...notes.filter(Boolean)].join(" · "));
}

export function openBuilding(building) {
  state.selected = { building: building.id };
  const live = liveClasses().byDevice;
  const devices = [...state.devices.values()].filter((d) => d.building === building.id)
    .sort((a, b) => a.id.localeCompare(b.id));
  const open = (x) => x.building === building.id && x.state !== "resolved";
  const incidents = [...state.incidents.values()].filter(open);
  const alerts = [...state.alerts.values()].filter((a) => open(a) && !inIncident(a));
  show(t("place.building", { id: building.id }),
    facts([[t("building.state"), label("buildingState", building.state)], [t("building.openAlerts"), building.open_alerts ?? alerts.length],
      [t("building.devices"), building.devices ?? devices.length], [t("building.name"), building.name],
      [t("building.address"), building.address]]),
    incidents.length ? h("section", {}, h("h3", {}, t("building.openIncident")),
      h("ol", { class: "alert-list" }, ...incidents.map((i) => incidentCard(i, {
        onDetails: (x) => openIncident(x.id), onSignal: (s) => openAlert(s.alert_id),
      })))) : null,
    alerts.length ? h("section", {}, h("h3", {}, t("building.trouble")),
      h("ol", { class: "alert-list" }, ...alerts.map((a) => alertCard(a, { onDetails: (x) => openAlert(x.id) })))) : null,
    h("section", {}, h("h3", {}, t("building.devices")),
      devices.length
        ? h("div", { class: "device-grid" }, ...devices.map((d) => deviceButton(d, live.get(d.id))))
        : h("p", { class: "muted" }, t("building.noDevices"))),
  );
}
