// The alert drawer: one alert with its audit trail, the readings around it and a comment box;
// a signal's alert leads back to its incident.

import { getJson } from "./api.js";
import { CLASS_LABEL } from "./classes.js";
import { h } from "./dom.js";
import { clock, humanRule, incidentTitle, stamp } from "./format.js";
import { act } from "./actions.js";
import { alertCard } from "./alert-card.js";
import { openDevice } from "./device-drawer.js";
import { facts, failure, show } from "./drawer.js";
import { openIncident } from "./incident-drawer.js";
import { drawReadings } from "./readings-chart.js";
import { state } from "./state.js";
import { metricLabel, metricUnit } from "./units.js";

export async function openAlert(alertId) {
  const known = state.alerts.get(alertId);
  state.selected = { alert: alertId, device: known?.device_id ?? undefined };
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const current = show(known ? `${CLASS_LABEL[known.class]} · ${humanRule(known.rule)}` : `Alert ${alertId}`, body);
  try {
    const detail = await getJson(`/api/v1/alerts/${alertId}`);
    if (current()) renderAlertDetail(body, detail);
  } catch (error) {
    if (current()) body.replaceChildren(failure(error));
  }
}

// The stream changed the alert on show: redraw its card and log without closing the drawer.
export function refreshOpenAlert(alertId) {
  const drawer = document.getElementById("drawer");
  // Never wipe a note the operator is typing.
  const typing = [...drawer.querySelectorAll("input, textarea")].some((el) => el.value);
  if (state.selected?.alert === alertId && !drawer.hidden && !typing) openAlert(alertId);
}

function logList(log) {
  return h("ol", { class: "log" }, ...log.map((e) => h("li", {},
    `${clock(e.at)} · ${e.actor} · ${e.action}`,
    e.to_state && e.from_state !== e.to_state ? ` · ${e.from_state ?? "—"} → ${e.to_state}` : "",
    Object.keys(e.detail ?? {}).length ? h("span", { class: "muted" }, ` ${JSON.stringify(e.detail)}`) : null)));
}

function commentForm(alert) {
  const input = h("input", { name: "text", required: true, maxlength: 2000, placeholder: "Add a note to the log…", "aria-label": "Comment" });
  return h("form", {
    class: "comment-form",
    onsubmit: async (event) => {
      event.preventDefault();
      if (await act(alert, "comment", { text: input.value.trim() })) openAlert(alert.id);
    },
  }, input, h("button", { class: "btn", type: "submit" }, "Comment"));
}

function renderAlertDetail(body, { alert, log, readings = [] }) {
  const chart = h("canvas", { class: "chart", role: "img", "aria-label": "Readings around the alert" });
  const incident = state.incidents.get(alert.incident_id);
  const resolution = alert.cause && `${alert.cause} by ${alert.resolved_by ?? "?"}: ${alert.resolution_note ?? ""}`;
  body.replaceChildren(h("div", { class: "stack" },
    h("ol", { class: "alert-list" }, alertCard(alert)),
    facts([
      ["Raised (device clock)", stamp(alert.raised_at)],
      ["Received", stamp(alert.received_at)],
      ["Last seen", stamp(alert.last_at)],
      ["Condition", alert.condition_active ? "still active" : "returned to normal"],
      ["Latching", alert.latching ? "yes: stays until resolved" : "no"],
      ["Resolution", resolution],
      ["Detail", Object.keys(alert.detail ?? {}).length ? JSON.stringify(alert.detail) : null],
    ]),
    h("div", { class: "alert-actions" },
      alert.incident_id && h("button", { class: "btn", type: "button", "data-action": "incident", onclick: () => openIncident(alert.incident_id) },
        `Its incident${incident ? `: ${incidentTitle(incident)}` : ""} →`),
      alert.device_id && h("button", { class: "btn", type: "button", onclick: () => openDevice(alert.device_id) }, `Device ${alert.device_id} →`)),
    readings.length > 0 && h("section", {}, h("h3", {}, `Readings around it: ${metricLabel(readings[0].metric)}`), chart),
    h("section", {}, h("h3", {}, "Log"), logList(log)),
    commentForm(alert),
  ));
  if (readings.length) {
    drawReadings(chart, readings[0].points, { unit: metricUnit(readings[0].metric), colour: alert.class });
  }
}
