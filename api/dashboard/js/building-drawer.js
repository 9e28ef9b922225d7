// The building drawer: its open incident, the technicians' alerts there, and its devices, each
// a way into its own drawer.

import { h } from "./dom.js";
import { alertCard } from "./alert-card.js";
import { openAlert } from "./alert-drawer.js";
import { openDevice } from "./device-drawer.js";
import { facts, show } from "./drawer.js";
import { incidentCard } from "./incident-card.js";
import { openIncident } from "./incident-drawer.js";
import { inIncident, liveClasses, state } from "./state.js";

function deviceButton(device, alertClass) {
  const notes = [device.kind, device.online === false && "offline", device.status !== "active" && device.status];
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
  show(`Building ${building.id}`,
    facts([["State", building.state], ["Open alerts", building.open_alerts ?? alerts.length],
      ["Devices", building.devices ?? devices.length], ["Name", building.name], ["Address", building.address]]),
    incidents.length ? h("section", {}, h("h3", {}, "Open incident"),
      h("ol", { class: "alert-list" }, ...incidents.map((i) => incidentCard(i, {
        onDetails: (x) => openIncident(x.id), onSignal: (s) => openAlert(s.alert_id),
      })))) : null,
    alerts.length ? h("section", {}, h("h3", {}, "Trouble and roll-ups"),
      h("ol", { class: "alert-list" }, ...alerts.map((a) => alertCard(a, { onDetails: (x) => openAlert(x.id) })))) : null,
    h("section", {}, h("h3", {}, "Devices"),
      devices.length
        ? h("div", { class: "device-grid" }, ...devices.map((d) => deviceButton(d, live.get(d.id))))
        : h("p", { class: "muted" }, "No devices known for this building.")),
  );
}
