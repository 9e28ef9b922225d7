// The incident drawer: the incident with its signals and one timeline, the incident's own log
// and its signals' logs merged in order, and a comment box.

import { getJson } from "./api.js";
import { classLabel } from "./classes.js";
import { h } from "./dom.js";
import { clock, detailText, humanRule, incidentTitle, stamp, stateChange } from "./format.js";
import { label, t } from "./i18n.js";
import { actOnIncident } from "./actions.js";
import { openAlert } from "./alert-drawer.js";
import { camerasPanel } from "./cameras-panel.js";
import { dispatchPanel } from "./dispatch-panel.js";
import { facts, failure, show } from "./drawer.js";
import { incidentCard } from "./incident-card.js";
import { state } from "./state.js";

export async function openIncident(incidentId) {
  const known = state.incidents.get(incidentId);
  state.selected = { incident: incidentId };
  const body = h("div", {}, h("p", { class: "muted" }, t("common.loading")));
  const current = show(known ? `${classLabel(known.class)} · ${incidentTitle(known)}` : t("drawer.incident", { id: incidentId }), body);
  try {
    const detail = await getJson(`/api/v1/incidents/${incidentId}`);
    if (current()) renderIncidentDetail(body, detail);
  } catch (error) {
    if (current()) body.replaceChildren(failure(error));
  }
}

// The stream changed the incident on show: redraw it without closing the drawer.
export function refreshOpenIncident(incidentId) {
  const drawer = document.getElementById("drawer");
  // Never wipe a note the operator is typing.
  const typing = [...drawer.querySelectorAll("input, textarea")].some((el) => el.value);
  if (state.selected?.incident === incidentId && !drawer.hidden && !typing) openIncident(incidentId);
}

// Each line names its source: the incident itself, or one signal (a way into its alert).
function timelineList(timeline) {
  return h("ol", { class: "log timeline-log" }, ...timeline.map((e) => h("li", { dataset: { source: e.source, logAction: e.action } },
    `${clock(e.at)} · `,
    e.source === "alert"
      ? h("button", { class: "link", type: "button", onclick: () => openAlert(e.alert_id) }, `${e.device_id} ${humanRule(e.rule)}`)
      : h("strong", {}, t("timeline.incident")),
    ` · ${e.actor} · ${label("log", e.action)}`,
    stateChange(e),
    detailText(e.detail) && h("span", { class: "muted" }, ` ${detailText(e.detail)}`))));
}

function commentForm(incident) {
  const input = h("input", { name: "text", required: true, maxlength: 2000, placeholder: t("comment.placeholder"), "aria-label": t("comment.label") });
  return h("form", {
    class: "comment-form",
    onsubmit: async (event) => {
      event.preventDefault();
      if (await actOnIncident(incident, "comment", { text: input.value.trim() })) openIncident(incident.id);
    },
  }, input, h("button", { class: "btn", type: "submit" }, t("comment.submit")));
}

function renderIncidentDetail(body, { incident, timeline }) {
  const resolution = incident.cause && t("drawer.resolution", {
    cause: label("cause", incident.cause), name: incident.resolved_by ?? "?", note: incident.resolution_note ?? "",
  });
  body.replaceChildren(h("div", { class: "stack" },
    h("ol", { class: "alert-list" }, incidentCard(incident, { onSignal: (s) => openAlert(s.alert_id), signalsOpen: true })),
    facts([
      [t("incident.firstSignal"), stamp(incident.opened_at)],
      [t("incident.newestSignal"), stamp(incident.last_at)],
      [t("incident.confirmed"), incident.confirmed ? t("incident.confirmedAt", { time: stamp(incident.confirmed_at) }) : t("incident.notConfirmed")],
      [t("incident.seenBy"), incident.building ? null : incident.origin],
      [t("incident.covers"), incident.covers?.length ? incident.covers.join(", ") : null],
      [t("incident.position"), incident.position ? JSON.stringify(incident.position) : null],
      [t("drawer.resolutionLabel"), resolution],
    ]),
    camerasPanel(incident),
    dispatchPanel(incident),
    h("section", {}, h("h3", {}, t("timeline.title")), timelineList(timeline)),
    commentForm(incident),
  ));
}
