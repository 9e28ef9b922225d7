// The alert drawer: one alert with its audit trail, the readings around it and a comment box;
// a signal's alert leads back to its incident.

import { getJson } from "./api.js";
import { classLabel } from "./classes.js";
import { h } from "./dom.js";
import { clock, detailText, humanRule, incidentTitle, stamp, stateChange } from "./format.js";
import { label, t } from "./i18n.js";
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
  const body = h("div", {}, h("p", { class: "muted" }, t("common.loading")));
  const current = show(known ? `${classLabel(known.class)} · ${humanRule(known.rule)}` : t("drawer.alert", { id: alertId }), body);
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
  return h("ol", { class: "log" }, ...log.map((e) => h("li", { dataset: { logAction: e.action } },
    `${clock(e.at)} · ${e.actor} · ${label("log", e.action)}`,
    stateChange(e),
    detailText(e.detail) && h("span", { class: "muted" }, ` ${detailText(e.detail)}`))));
}

function commentForm(alert) {
  const input = h("input", { name: "text", required: true, maxlength: 2000, placeholder: t("comment.placeholder"), "aria-label": t("comment.label") });
  return h("form", {
    class: "comment-form",
    onsubmit: async (event) => {
      event.preventDefault();
      if (await act(alert, "comment", { text: input.value.trim() })) openAlert(alert.id);
    },
  }, input, h("button", { class: "btn", type: "submit" }, t("comment.submit")));
}

function renderAlertDetail(body, { alert, log, readings = [] }) {
  const chart = h("canvas", { class: "chart", role: "img", "aria-label": t("alert.chartLabel") });
  const incident = state.incidents.get(alert.incident_id);
  const resolution = alert.cause && t("drawer.resolution", {
    cause: label("cause", alert.cause), name: alert.resolved_by ?? "?", note: alert.resolution_note ?? "",
  });
  body.replaceChildren(h("div", { class: "stack" },
    h("ol", { class: "alert-list" }, alertCard(alert)),
    facts([
      [t("alert.raised"), stamp(alert.raised_at)],
      [t("alert.received"), stamp(alert.received_at)],
      [t("alert.lastSeen"), stamp(alert.last_at)],
      [t("alert.condition"), alert.condition_active ? t("alert.stillActive") : t("alert.returned")],
      [t("alert.latching"), alert.latching ? t("alert.latches") : t("common.no")],
      [t("drawer.resolutionLabel"), resolution],
      [t("alert.detail"), detailText(alert.detail)],
    ]),
    h("div", { class: "alert-actions" },
      alert.incident_id && h("button", { class: "btn", type: "button", "data-action": "incident", onclick: () => openIncident(alert.incident_id) },
        incident ? t("alert.itsIncidentNamed", { title: incidentTitle(incident) }) : t("alert.itsIncident")),
      alert.device_id && h("button", { class: "btn", type: "button", onclick: () => openDevice(alert.device_id) }, t("alert.device", { id: alert.device_id }))),
    readings.length > 0 && h("section", {}, h("h3", {}, t("alert.readingsAround", { metric: metricLabel(readings[0].metric) })), chart),
    h("section", {}, h("h3", {}, t("alert.log")), logList(log)),
    commentForm(alert),
  ));
  if (readings.length) {
    drawReadings(chart, readings[0].points, { unit: metricUnit(readings[0].metric), colour: alert.class });
  }
}
