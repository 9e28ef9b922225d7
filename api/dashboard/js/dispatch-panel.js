// The incident drawer's dispatch: send the incident to its zone's on-call grid worker (or a
// zone or person the operator names), follow each dispatch person by person with the times of
// their steps and the outcome of every message, revoke it, and answer the 119 prompt a
// real-fire verdict raises. Every step comes back through the live stream (an incident event),
// which redraws the drawer.

import { ApiError, authHeaders, getJson, postJson } from "./api.js";
import { button, h } from "./dom.js";
import { failure, onReplaced } from "./drawer.js";
import { clock, stamp } from "./format.js";
import { toast } from "./toast.js";

const STATE = {
  notifying: "waiting for someone to accept",
  accepted: "accepted",
  on_my_way: "on the way",
  arrived: "on site",
  done: "verdict given",
  revoked: "revoked",
};
const VERDICT = { real_fire: "Real fire (119 called)", false_alarm: "False alarm", no_access: "Could not get in" };
const STEPS = [["accepted_at", "accepted"], ["on_my_way_at", "on the way"], ["arrived_at", "arrived"], ["verdict_at", "verdict"]];
const MILESTONES = [
  ["detected", "detected"], ["acknowledged", "acknowledged"], ["video_checked", "video checked"], ["dispatched", "dispatched"],
  ["accepted", "accepted"], ["arrived", "arrived"], ["verdict", "verdict"], ["closed", "closed"],
];

export function dispatchPanel(incident) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading dispatches…"));
  const section = h("section", { class: "dispatch-panel", dataset: { panel: "dispatch" } }, h("h3", {}, "Dispatch · 派单"), body);
  const load = () => getJson(`/api/v1/incidents/${incident.id}/dispatches`)
    .then((found) => body.replaceChildren(...render(incident, found, load)))
    .catch((error) => body.replaceChildren(failure(error)));
  load();
  return section;
}

function render(incident, found, reload) {
  const open = found.items.find((d) => !d.closed_at);
  return [
    found.call_119.pending ? call119Prompt(incident, reload) : call119Record(found.call_119),
    milestones(found.milestones),
    ...found.items.slice().reverse().map((d) => dispatchCard(d, reload)),
    incident.state !== "resolved" && !open ? dispatchForm(incident, reload) : null,
  ];
}

function seconds(s) {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function milestones(steps) {
  const items = MILESTONES.filter(([key]) => steps[key]).map(([key, label]) =>
    h("span", { dataset: { milestone: key } }, `${label} ${clock(steps[key])}`, key === "detected" ? "" : ` (+${seconds(steps.seconds[key])})`));
  return h("p", { class: "milestones muted" }, ...items.flatMap((item, i) => (i ? [" → ", item] : [item])));
}

function call119Prompt(incident, reload) {
  const note = h("input", { name: "note", maxlength: 500, placeholder: "Note (optional)", "aria-label": "119 note" });
  const answer = (confirmed) => async () => {
    try {
      await postJson(`/api/v1/incidents/${incident.id}/call-119`, { confirmed, note: note.value.trim() || null });
      toast(confirmed ? "119 call recorded" : "Recorded: 119 not called", { ok: true });
      reload();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) toast(`Could not record the 119 call: ${error.message}`);
    }
  };
  return h("div", { class: "call-119 prompt", role: "alert", dataset: { call119: "pending" } },
    h("strong", {}, "Real fire reported from the field: confirm the 119 call · 请确认已拨打119"),
    note,
    h("div", {}, button("call-119", "119 called", answer(true), "btn btn-primary"), button("no-119", "Not called", answer(false))));
}

function call119Record(call) {
  if (!call.at) return null;
  return h("p", { class: "call-119", dataset: { call119: "recorded" } },
    `119 ${call.confirmed ? "called" : "not called"} · ${call.by} ${stamp(call.at)}${call.note ? ` · ${call.note}` : ""}`);
}

function dispatchCard(d, reload) {
  const who = d.created_by === "engine" ? "automatically" : `by ${d.created_by}`;
  const due = d.accept_due_at ? ` · next call ${clock(d.accept_due_at)}` : "";
  const exhausted = d.exhausted_at && d.state === "notifying" ? " · everyone called, nobody accepted" : "";
  return h("article", { class: "dispatch", dataset: { dispatch: d.id, state: d.state } },
    h("header", {},
      h("strong", {}, `#${d.id} ${STATE[d.state] ?? d.state}`),
      h("span", { class: "muted" }, ` · zone ${d.zone ?? "—"} · ${who} ${clock(d.created_at)}${due}${exhausted}`),
      d.closed_at ? null : button("revoke", "Revoke", () => revoke(d, reload))),
    people(d),
    d.verdict ? h("p", { class: "verdict", dataset: { verdict: d.verdict } },
      `${VERDICT[d.verdict]}${d.cause ? ` · ${d.cause}` : ""}${d.note ? ` · “${d.note}”` : ""}`) : null,
    photos(d),
    deliveries(d));
}

// Each person reached, in call order; the one who answered with the times of their steps.
function people(d) {
  return h("ol", { class: "log dispatch-people" }, ...d.notices.map((n) => {
    const answered = d.person_id === n.person_id && d.state !== "notifying" && d.state !== "revoked";
    const steps = answered ? STEPS.filter(([key]) => d[key]).map(([key, label]) => `${label} ${clock(d[key])}`) : [];
    const link = `link: ${n.views} views, ${n.answers} answers${n.refusals ? `, ${n.refusals} refused` : ""}`;
    return h("li", { dataset: { person: n.person_id, answered: answered ? "yes" : "no" } },
      h("strong", {}, n.name), ` (${n.role}, level ${n.level}) · called ${clock(n.notified_at)}`,
      steps.length ? ` · ${steps.join(" · ")}` : "",
      h("span", { class: "muted" }, ` · ${link}`));
  }));
}

function photos(d) {
  if (!d.photos.length) return null;
  const strip = h("div", { class: "photos" });
  for (const p of d.photos) {
    const img = h("img", { alt: `Photo ${p.id} from ${p.person_id}`, class: "field-photo", width: 160, dataset: { photo: p.id } });
    strip.append(img);
    // The route wants the token, which an <img src> cannot send: fetched, shown as a blob.
    fetch(p.url, { headers: authHeaders() })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.statusText))))
      .then((blob) => {
        img.src = URL.createObjectURL(blob);
        onReplaced(() => URL.revokeObjectURL(img.src));
      })
      .catch(() => img.replaceWith(h("span", { class: "muted" }, `photo ${p.id} could not be loaded`)));
  }
  return strip;
}

function deliveries(d) {
  if (!d.deliveries.length) return null;
  return h("details", { class: "deliveries" },
    h("summary", {}, `Messages: ${d.deliveries.filter((q) => q.state === "sent").length} sent of ${d.deliveries.length}`),
    h("ol", { class: "log" }, ...d.deliveries.map((q) => h("li", { dataset: { delivery: q.id, state: q.state } },
      `${q.person_id ?? "—"} · ${q.channel_kind} ${q.channel_id} · ${q.state}`,
      q.sent_at ? ` ${clock(q.sent_at)}` : "",
      q.attempts > 1 || q.state !== "sent" ? h("span", { class: "muted" }, ` · ${q.attempts} attempt(s)${q.last_error ? ` · ${q.last_error}` : ""}`) : null))));
}

async function revoke(d, reload) {
  try {
    await postJson(`/api/v1/dispatches/${d.id}/revoke`);
    toast(`Dispatch #${d.id} revoked: its links no longer open`, { ok: true });
    reload();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) toast(`Could not revoke: ${error.message}`);
  }
}

function dispatchForm(incident, reload) {
  const zone = h("input", { name: "zone", maxlength: 64, placeholder: "Zone (default: the building's)", "aria-label": "Zone" });
  const person = h("input", { name: "person_id", maxlength: 64, placeholder: "Person id (default: first on call)", "aria-label": "Person" });
  return h("form", {
    class: "dispatch-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = {};
      if (zone.value.trim()) body.zone = zone.value.trim();
      if (person.value.trim()) body.person_id = person.value.trim();
      try {
        const made = await postJson(`/api/v1/incidents/${incident.id}/dispatch`, body);
        toast(`Dispatched to ${made.notices[0]?.name ?? "nobody on call"}`, { ok: true });
        zone.value = "";
        person.value = "";
        reload();
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) toast(`Could not dispatch: ${error.message}`);
      }
    },
  }, zone, person, h("button", { class: "btn btn-primary", type: "submit", "data-action": "dispatch" }, "Dispatch · 派单"));
}
