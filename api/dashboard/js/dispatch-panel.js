// The incident drawer's dispatch: send the incident to its zone's on-call grid worker (or a
// zone or person the operator names), follow each dispatch person by person with the times of
// their steps and the outcome of every message, revoke it, and answer the 119 prompt a
// real-fire verdict raises. Every step comes back through the live stream (an incident event),
// which redraws the drawer.

import { ApiError, authHeaders, getJson, postJson } from "./api.js";
import { button, h } from "./dom.js";
import { failure, onReplaced } from "./drawer.js";
import { clock, duration, stamp } from "./format.js";
import { label, t } from "./i18n.js";
import { toast } from "./toast.js";

const STEPS = ["accepted_at", "on_my_way_at", "arrived_at", "verdict_at"];
const MILESTONES = ["detected", "acknowledged", "video_checked", "dispatched", "accepted", "arrived", "verdict", "closed"];

export function dispatchPanel(incident) {
  const body = h("div", {}, h("p", { class: "muted" }, t("dispatch.loading")));
  const section = h("section", { class: "dispatch-panel", dataset: { panel: "dispatch" } }, h("h3", {}, t("dispatch.title")), body);
  const load = () => getJson(`/api/v1/incidents/${incident.id}/dispatches`)
    .then((found) => body.replaceChildren(...render(incident, found, load).filter(Boolean)))
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

function milestones(steps) {
  const items = MILESTONES.filter((key) => steps[key]).map((key) =>
    h("span", { dataset: { milestone: key } }, `${label("milestone", key)} ${clock(steps[key])}`,
      key === "detected" ? "" : ` (+${duration(steps.seconds[key])})`));
  return h("p", { class: "milestones muted" }, ...items.flatMap((item, i) => (i ? [" → ", item] : [item])));
}

function call119Prompt(incident, reload) {
  const note = h("input", { name: "note", maxlength: 500, placeholder: t("common.noteOptional"), "aria-label": t("dispatch.note119") });
  const answer = (confirmed) => async () => {
    try {
      await postJson(`/api/v1/incidents/${incident.id}/call-119`, { confirmed, note: note.value.trim() || null });
      toast(confirmed ? t("dispatch.recorded119") : t("dispatch.recordedNo119"), { ok: true });
      reload();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) toast(t("dispatch.not119", { error: error.message }));
    }
  };
  return h("div", { class: "call-119 prompt", role: "alert", dataset: { call119: "pending" } },
    h("strong", {}, t("dispatch.prompt119")),
    note,
    h("div", {}, button("call-119", t("dispatch.called119"), answer(true), "btn btn-primary"), button("no-119", t("dispatch.notCalled119"), answer(false))));
}

function call119Record(call) {
  if (!call.at) return null;
  return h("p", { class: "call-119", dataset: { call119: "recorded" } },
    `${call.confirmed ? t("dispatch.record119") : t("dispatch.recordNo119")} · ${call.by} ${stamp(call.at)}${call.note ? ` · ${call.note}` : ""}`);
}

function dispatchCard(d, reload) {
  const who = d.created_by === "engine" ? t("dispatch.automatically") : t("dispatch.by", { name: d.created_by });
  const due = d.accept_due_at ? ` · ${t("dispatch.nextCall", { time: clock(d.accept_due_at) })}` : "";
  const exhausted = d.exhausted_at && d.state === "notifying" ? ` · ${t("dispatch.exhausted")}` : "";
  return h("article", { class: "dispatch", dataset: { dispatch: d.id, state: d.state } },
    h("header", {},
      h("strong", {}, `#${d.id} ${label("dispatchState", d.state)}`),
      h("span", { class: "muted" }, ` · ${t("dispatch.zone", { zone: d.zone ?? "—" })} · ${who} ${clock(d.created_at)}${due}${exhausted}`),
      d.closed_at ? null : button("revoke", t("dispatch.revoke"), () => revoke(d, reload))),
    people(d),
    d.verdict ? h("p", { class: "verdict", dataset: { verdict: d.verdict } },
      `${label("verdict", d.verdict)}${d.cause ? ` · ${label("fieldCause", d.cause)}` : ""}${d.note ? ` · “${d.note}”` : ""}`) : null,
    photos(d),
    deliveries(d));
}

// Each person reached, in call order; the one who answered with the times of their steps.
function people(d) {
  return h("ol", { class: "log dispatch-people" }, ...d.notices.map((n) => {
    const answered = d.person_id === n.person_id && d.state !== "notifying" && d.state !== "revoked";
    const steps = answered ? STEPS.filter((key) => d[key]).map((key) => `${label("dispatchStep", key)} ${clock(d[key])}`) : [];
    const link = t(n.refusals ? "dispatch.linkRefused" : "dispatch.link", { views: n.views, answers: n.answers, refusals: n.refusals });
    return h("li", { dataset: { person: n.person_id, answered: answered ? "yes" : "no" } },
      h("strong", {}, n.name),
      ` (${t("dispatch.person", { role: label("role", n.role), level: n.level })}) · ${t("dispatch.called", { time: clock(n.notified_at) })}`,
      steps.length ? ` · ${steps.join(" · ")}` : "",
      h("span", { class: "muted" }, ` · ${link}`));
  }));
}

function photos(d) {
  if (!d.photos.length) return null;
  const strip = h("div", { class: "photos" });
  for (const p of d.photos) {
    const img = h("img", { alt: t("dispatch.photo", { id: p.id, person: p.person_id }), class: "field-photo", width: 160, dataset: { photo: p.id } });
    strip.append(img);
    // The route wants the token, which an <img src> cannot send: fetched, shown as a blob.
    fetch(p.url, { headers: authHeaders() })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.statusText))))
      .then((blob) => {
        img.src = URL.createObjectURL(blob);
        onReplaced(() => URL.revokeObjectURL(img.src));
      })
      .catch(() => img.replaceWith(h("span", { class: "muted" }, t("dispatch.photoFailed", { id: p.id }))));
  }
  return strip;
}

function deliveries(d) {
  if (!d.deliveries.length) return null;
  return h("details", { class: "deliveries" },
    h("summary", {}, t("dispatch.messages", { sent: d.deliveries.filter((q) => q.state === "sent").length, n: d.deliveries.length })),
    h("ol", { class: "log" }, ...d.deliveries.map((q) => h("li", { dataset: { delivery: q.id, state: q.state } },
      `${q.person_id ?? "—"} · ${label("channel", q.channel_kind)} ${q.channel_id} · ${label("delivery", q.state)}`,
      q.sent_at ? ` ${clock(q.sent_at)}` : "",
      q.attempts > 1 || q.state !== "sent"
        ? h("span", { class: "muted" }, ` · ${t("dispatch.attempts", { n: q.attempts })}${q.last_error ? ` · ${q.last_error}` : ""}`)
        : null))));
}

async function revoke(d, reload) {
  try {
    await postJson(`/api/v1/dispatches/${d.id}/revoke`);
    toast(t("dispatch.revoked", { id: d.id }), { ok: true });
    reload();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) toast(t("dispatch.notRevoked", { error: error.message }));
  }
}

function dispatchForm(incident, reload) {
  const zone = h("input", { name: "zone", maxlength: 64, placeholder: t("dispatch.zonePlaceholder"), "aria-label": t("dispatch.zoneLabel") });
  const person = h("input", { name: "person_id", maxlength: 64, placeholder: t("dispatch.personPlaceholder"), "aria-label": t("dispatch.personLabel") });
  return h("form", {
    class: "dispatch-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = {};
      if (zone.value.trim()) body.zone = zone.value.trim();
      if (person.value.trim()) body.person_id = person.value.trim();
      try {
        const made = await postJson(`/api/v1/incidents/${incident.id}/dispatch`, body);
        toast(t("dispatch.dispatched", { name: made.notices[0]?.name ?? t("dispatch.nobody") }), { ok: true });
        zone.value = "";
        person.value = "";
        reload();
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) toast(t("dispatch.failed", { error: error.message }));
      }
    },
  }, zone, person, h("button", { class: "btn btn-primary", type: "submit", "data-action": "dispatch" }, t("dispatch.submit")));
}
