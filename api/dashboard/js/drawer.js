// The side drawer: one alert in full, one device (details, readings, heat map), or one building.

import { ApiError, getJson, query, request } from "./api.js";
import { CLASS_LABEL, STATE_LABEL } from "./classes.js";
import { h } from "./dom.js";
import { clock, humanRule, stamp } from "./format.js";
import { act } from "./actions.js";
import { alertCard } from "./alert-card.js";
import { chartMessage, drawReadings } from "./readings-chart.js";
import { liveClasses, state } from "./state.js";
import { KIND_METRICS, metricUnit } from "./units.js";

const RANGES = [
  ["1 h", 3600, 60],
  ["6 h", 6 * 3600, 300],
  ["24 h", 24 * 3600, 900],
];

let generation = 0; // a slow answer for a drawer since replaced must not paint over it
let heatmapUrl = null;

function show(title, ...children) {
  generation += 1;
  if (heatmapUrl) URL.revokeObjectURL(heatmapUrl);
  heatmapUrl = null;
  document.getElementById("drawer-title").textContent = title;
  document.getElementById("drawer-body").replaceChildren(...children.filter(Boolean));
  document.getElementById("drawer").hidden = false;
  return generation;
}

export function closeDrawer() {
  generation += 1;
  state.selected = null;
  if (heatmapUrl) URL.revokeObjectURL(heatmapUrl);
  heatmapUrl = null;
  document.getElementById("drawer").hidden = true;
  document.getElementById("drawer-body").replaceChildren();
}

function facts(pairs) {
  return h("dl", { class: "facts" }, ...pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

function failure(error) {
  return h("p", { class: "error" }, error instanceof ApiError ? error.message : String(error));
}

// ---- device ----

export async function openDevice(deviceId) {
  state.selected = { device: deviceId };
  const asked = generation;
  const device = state.devices.get(deviceId)
    ?? await getJson(`/api/v1/devices/${encodeURIComponent(deviceId)}`).catch(() => ({ id: deviceId }));
  if (asked !== generation) return;
  const chartBox = h("div", {});
  const heat = h("div", {});
  const openAlerts = [...state.alerts.values()].filter((a) => a.device_id === deviceId && a.state !== "resolved");
  const mine = show(`Device ${deviceId}`,
    facts([
      ["Kind", device.kind], ["Status", device.status],
      ["Connection", device.online === undefined ? null : device.online ? "online" : "offline"], ["Name", device.name],
      ["Building", device.building], ["Floor", device.floor], ["Room", device.room], ["Zone", device.zone],
      ["Position", device.lat != null ? `${device.lat.toFixed(5)}, ${device.lon.toFixed(5)}` : null],
      ["Heartbeat", device.heartbeat_s ? `every ${device.heartbeat_s} s` : null],
      ["Last seen", device.last_seen_at ? stamp(device.last_seen_at) : null],
      ["Battery", device.battery_pct != null ? `${device.battery_pct} %` : null],
    ]),
    openAlerts.length ? h("section", {}, h("h3", {}, "Open alerts"),
      h("ol", { class: "alert-list" }, ...openAlerts.map((a) => alertCard(a, { onDetails: (x) => openAlert(x.id) })))) : null,
    h("section", {}, h("h3", {}, "Readings"), chartBox),
    device.kind === "thermal_camera" ? h("section", {}, h("h3", {}, "Latest heat map"), heat) : null,
  );
  readingsSection(chartBox, device, mine);
  if (device.kind === "thermal_camera") heatmapSection(heat, deviceId, mine);
}

function readingsSection(box, device, mine) {
  const metrics = KIND_METRICS[device.kind] ?? ["temperature_c"];
  let metric = metrics[0];
  let range = RANGES[1];
  const canvas = h("canvas", { class: "chart", role: "img" });
  const note = h("p", { class: "muted small" });
  const tabs = h("div", { class: "tabs" });
  const tab = (label, pressed, cls, choose) => h("button", {
    class: cls, type: "button", "aria-pressed": String(pressed), onclick: () => { choose(); load(); },
  }, label);
  const renderTabs = () => tabs.replaceChildren(
    ...metrics.map((m) => tab(m, m === metric, "btn", () => (metric = m))),
    ...RANGES.map((r) => tab(r[0], r === range, "btn btn-quiet", () => (range = r))),
  );
  const load = async () => {
    renderTabs();
    const [, seconds, bucket] = range;
    const to = new Date();
    const from = new Date(to.getTime() - seconds * 1000);
    try {
      const series = await getJson(`/api/v1/devices/${encodeURIComponent(device.id)}/readings${query({
        metric, from: from.toISOString(), to: to.toISOString(), bucket,
      })}`);
      if (mine !== generation) return;
      drawReadings(canvas, series.points, { unit: metricUnit(metric) });
      canvas.setAttribute("aria-label", `${metric}: ${series.points.length} buckets of ${series.bucket_s} s`);
      note.textContent = `${series.points.length} buckets of ${series.bucket_s} s; band = min…max, line = average`;
    } catch (error) {
      if (mine !== generation) return;
      chartMessage(canvas, "Readings unavailable");
      note.replaceChildren(failure(error));
    }
  };
  box.replaceChildren(tabs, canvas, note);
  load();
}

async function heatmapSection(box, deviceId, mine) {
  const reload = h("button", { class: "btn btn-quiet", type: "button", onclick: () => heatmapSection(box, deviceId, mine) }, "Reload");
  try {
    // An <img> cannot send the token: fetch the PNG and show it from a blob: URL.
    const response = await request(`/api/v1/devices/${encodeURIComponent(deviceId)}/frame.png`);
    const blob = await response.blob();
    if (mine !== generation) return;
    if (heatmapUrl) URL.revokeObjectURL(heatmapUrl);
    heatmapUrl = URL.createObjectURL(blob);
    const taken = response.headers.get("Last-Modified");
    box.replaceChildren(h("img", { class: "heatmap", src: heatmapUrl, alt: `Latest thermal frame of ${deviceId}` }),
      h("p", { class: "muted small" }, taken ? `Frame of ${stamp(taken)} ` : "", reload));
  } catch (error) {
    if (mine !== generation) return;
    const text = error instanceof ApiError && error.status === 404 ? "No frame received yet." : failure(error);
    box.replaceChildren(h("p", { class: "muted" }, text, " "), reload);
  }
}

// ---- alert ----

export async function openAlert(alertId) {
  const known = state.alerts.get(alertId);
  state.selected = { alert: alertId, device: known?.device_id ?? undefined };
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const mine = show(known ? `${CLASS_LABEL[known.class]} · ${humanRule(known.rule)}` : `Alert ${alertId}`, body);
  try {
    const detail = await getJson(`/api/v1/alerts/${alertId}`);
    if (mine !== generation) return;
    renderAlertDetail(body, detail, mine);
  } catch (error) {
    if (mine === generation) body.replaceChildren(failure(error));
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

// A confirmed fire joins the alerts that confirmed it.
function childList(children) {
  return h("ul", { class: "log" }, ...children.map((c) => h("li", {},
    h("button", { class: "link", type: "button", onclick: () => openAlert(c.id) }, `${c.subject} · ${humanRule(c.rule)}`),
    ` · ${c.class} · ${STATE_LABEL[c.state] ?? c.state} · ${clock(c.raised_at)}`)));
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

function renderAlertDetail(body, { alert, log, children = [], readings = [] }, mine) {
  const chart = h("canvas", { class: "chart", role: "img", "aria-label": "Readings around the alert" });
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
    alert.device_id && h("button", { class: "btn", type: "button", onclick: () => openDevice(alert.device_id) }, `Device ${alert.device_id} →`),
    children.length > 0 && h("section", {}, h("h3", {}, "Part of this confirmed fire"), childList(children)),
    readings.length > 0 && h("section", {}, h("h3", {}, `Readings around it: ${readings[0].metric}`), chart),
    h("section", {}, h("h3", {}, "Log"), logList(log)),
    commentForm(alert),
  ));
  if (readings.length && mine === generation) {
    drawReadings(chart, readings[0].points, { unit: metricUnit(readings[0].metric), colour: alert.class });
  }
}

// ---- building ----

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
  const alerts = [...state.alerts.values()].filter((a) => a.building === building.id && a.state !== "resolved");
  show(`Building ${building.id}`,
    facts([["State", building.state], ["Open alerts", building.open_alerts ?? alerts.length],
      ["Devices", building.devices ?? devices.length], ["Name", building.name], ["Address", building.address]]),
    alerts.length ? h("section", {}, h("h3", {}, "Open alerts"),
      h("ol", { class: "alert-list" }, ...alerts.map((a) => alertCard(a, { onDetails: (x) => openAlert(x.id) })))) : null,
    h("section", {}, h("h3", {}, "Devices"),
      devices.length
        ? h("div", { class: "device-grid" }, ...devices.map((d) => deviceButton(d, live.get(d.id))))
        : h("p", { class: "muted" }, "No devices known for this building.")),
  );
}
