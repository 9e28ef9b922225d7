// The incident drawer: the incident with its signals and one timeline, the incident's own log
// and its signals' logs merged in order, and a comment box.

import { getJson } from "./api.js";
import { CLASS_LABEL } from "./classes.js";
import { h } from "./dom.js";
import { clock, humanRule, incidentTitle, stamp } from "./format.js";
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
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const current = show(known ? `${CLASS_LABEL[known.class]} · ${incidentTitle(known)}` : `Incident ${incidentId}`, body);
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
  return h("ol", { class: "log timeline-log" }, ...timeline.map((e) => h("li", { dataset: { source: e.source } },
    `${clock(e.at)} · `,
    e.source === "alert"
      ? h("button", { class: "link", type: "button", onclick: () => openAlert(e.alert_id) }, `${e.device_id} ${humanRule(e.rule)}`)
      : h("strong", {}, "incident"),
    ` · ${e.actor} · ${e.action}`,
    e.to_state && e.from_state !== e.to_state ? ` · ${e.from_state ?? "—"} → ${e.to_state}` : "",
    Object.keys(e.detail ?? {}).length ? h("span", { class: "muted" }, ` ${JSON.stringify(e.detail)}`) : null)));
}

function commentForm(incident) {
  const input = h("input", { name: "text", required: true, maxlength: 2000, placeholder: "Add a note to the log…", "aria-label": "Comment" });
  return h("form", {
    class: "comment-form",
    onsubmit: async (event) => {
      event.preventDefault();
      if (await actOnIncident(incident, "comment", { text: input.value.trim() })) openIncident(incident.id);
    },
  }, input, h("button", { class: "btn", type: "submit" }, "Comment"));
}

function renderIncidentDetail(body, { incident, timeline }) {
  const resolution = incident.cause && `${incident.cause} by ${incident.resolved_by ?? "?"}: ${incident.resolution_note ?? ""}`;
  body.replaceChildren(h("div", { class: "stack" },
    h("ol", { class: "alert-list" }, incidentCard(incident, { onSignal: (s) => openAlert(s.alert_id), signalsOpen: true })),
    facts([
      ["First signal (device clock)", stamp(incident.opened_at)],
      ["Newest signal", stamp(incident.last_at)],
      ["Confirmed", incident.confirmed ? `${stamp(incident.confirmed_at)}: two devices agree` : "not yet: one device so far"],
      ["Seen by camera", incident.building ? null : incident.origin],
      ["Camera covers", incident.covers?.length ? incident.covers.join(", ") : null],
      ["Target in the image", incident.position ? JSON.stringify(incident.position) : null],
      ["Resolution", resolution],
    ]),
    camerasPanel(incident),
    dispatchPanel(incident),
    h("section", {}, h("h3", {}, "Timeline"), timelineList(timeline)),
    commentForm(incident),
  ));
}
