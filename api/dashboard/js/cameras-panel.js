// The incident drawer's cameras: those that can show the place (a preset on its building
// first, then the nearest in range), each with its stream to open and, for a PTZ camera, a
// move to its preset; and the video check the operator records as a step of the timeline.
// Both steps come back through the live stream, which redraws the drawer unless a note is being
// typed; after our own step the drawer is redrawn here, as its event may have come first.

import { ApiError, getJson, postJson } from "./api.js";
import { button, h } from "./dom.js";
import { failure } from "./drawer.js";
import { label, t } from "./i18n.js";
import { toast } from "./toast.js";

const RESULTS = ["fire_seen", "smoke_seen", "nothing_seen", "view_blocked"];

export function camerasPanel(incident) {
  const body = h("div", {}, h("p", { class: "muted" }, t("cameras.loading")));
  const section = h("section", { class: "cameras-panel", dataset: { panel: "cameras" } }, h("h3", {}, t("cameras.title")), body);
  getJson(`/api/v1/incidents/${incident.id}/cameras`)
    .then((cameras) => body.replaceChildren(...render(incident, cameras)))
    .catch((error) => body.replaceChildren(failure(error)));
  return section;
}

function render(incident, cameras) {
  if (!cameras.length) return [h("p", { class: "muted" }, t("cameras.none"))];
  const open = incident.state !== "resolved";
  return [
    h("ol", { class: "log camera-list" }, ...cameras.map((camera) => cameraItem(incident, camera, open))),
    open ? checkForm(incident, cameras) : null,
  ];
}

function cameraItem(incident, camera, open) {
  const facts = [
    label("cameraWhy", camera.why),
    camera.distance_m === null ? null : t("cameras.distance", { m: Math.round(camera.distance_m) }),
    camera.preset ? t("cameras.preset", { number: camera.preset.number, name: camera.preset.name }) : null,
    camera.status === "active" ? null : label("deviceStatus", camera.status),
  ].filter(Boolean);
  return h("li", { dataset: { camera: camera.camera_id } },
    h("div", {}, h("strong", {}, camera.camera_id), camera.name ? ` ${camera.name}` : "", h("span", { class: "muted" }, ` · ${facts.join(" · ")}`)),
    h("div", { class: "camera-actions" },
      camera.stream
        ? h("a", { class: "btn", href: camera.stream.url, target: "_blank", rel: "noopener noreferrer", "data-action": "stream", title: camera.stream.url },
          t("cameras.open", { stream: label("stream", camera.stream.type) }))
        : h("span", { class: "muted" }, t("cameras.noStream")),
      camera.can_move && open ? moveControl(incident, camera) : null));
}

function moveControl(incident, camera) {
  const choice = h("select", { name: "preset", "aria-label": t("cameras.presetOf", { camera: camera.camera_id }) },
    ...camera.presets.map((p) => h("option", { value: p.number, selected: p.number === camera.preset?.number }, `${p.number} · ${p.name}`)));
  const go = button("goto", t("cameras.goto"), async () => {
    go.disabled = true;
    try {
      const moved = await postJson(`/api/v1/incidents/${incident.id}/cameras/${encodeURIComponent(camera.camera_id)}/goto`, { preset: Number(choice.value) });
      toast(t("cameras.moved", { camera: camera.camera_id, number: moved.preset.number, name: moved.preset.name }), { ok: true });
      await redraw(incident);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) toast(t("cameras.notMoved", { camera: camera.camera_id, error: error.message }));
    } finally {
      go.disabled = false;
    }
  });
  return h("span", { class: "camera-move" }, choice, go);
}

function checkForm(incident, cameras) {
  const camera = h("select", { name: "camera", "aria-label": t("cameras.lookedThrough") },
    ...cameras.map((c) => h("option", { value: c.camera_id }, c.camera_id)));
  const result = h("select", { name: "result", "aria-label": t("cameras.showed") },
    ...RESULTS.map((value) => h("option", { value }, label("videoCheck", value))));
  const note = h("input", { name: "note", maxlength: 2000, placeholder: t("common.noteOptional"), "aria-label": t("cameras.note") });
  const submit = h("button", { class: "btn", type: "submit" }, t("cameras.record"));
  return h("form", {
    class: "comment-form video-check",
    dataset: { form: "video-check" },
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const text = note.value.trim();
        const recorded = await postJson(`/api/v1/incidents/${incident.id}/video-check`, {
          camera_id: camera.value, result: result.value, ...(text ? { note: text } : {}),
        });
        note.value = "";
        toast(t("cameras.recorded", { result: label("videoCheck", recorded.result), camera: recorded.camera_id }), { ok: true });
        await redraw(incident);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) toast(t("cameras.notRecorded", { error: error.message }));
      } finally {
        submit.disabled = false;
      }
    },
  }, camera, result, note, submit);
}

// Imported when used: the drawer imports this panel.
async function redraw(incident) {
  (await import("./incident-drawer.js")).refreshOpenIncident(incident.id);
}
