// The device drawer: its registry entry, open alerts, readings chart and, for a camera, the
// latest heat map.

import { ApiError, getJson, query, request } from "./api.js";
import { h } from "./dom.js";
import { stamp } from "./format.js";
import { label, t } from "./i18n.js";
import { alertCard } from "./alert-card.js";
import { openAlert } from "./alert-drawer.js";
import { facts, failure, onReplaced, show } from "./drawer.js";
import { chartMessage, drawReadings } from "./readings-chart.js";
import { state } from "./state.js";
import { KIND_METRICS, metricLabel, metricUnit } from "./units.js";

// Hours and bucket: about 60–100 buckets whatever the span.
const RANGES = [[1, 60], [6, 300], [24, 900]];

export async function openDevice(deviceId) {
  state.selected = { device: deviceId };
  const device = state.devices.get(deviceId)
    ?? await getJson(`/api/v1/devices/${encodeURIComponent(deviceId)}`).catch(() => ({ id: deviceId }));
  if (state.selected?.device !== deviceId) return; // another drawer was asked for meanwhile
  const chartBox = h("div", {});
  const heat = h("div", {});
  const openAlerts = [...state.alerts.values()].filter((a) => a.device_id === deviceId && a.state !== "resolved");
  const current = show(t("device.title", { id: deviceId }),
    facts([
      [t("device.kind"), device.kind && label("kind", device.kind)], [t("device.status"), device.status && label("deviceStatus", device.status)],
      [t("device.connection"), device.online === undefined ? null : device.online ? t("device.online") : t("device.offline")],
      [t("device.name"), device.name], [t("device.building"), device.building], [t("device.floor"), device.floor],
      [t("device.room"), device.room], [t("device.zone"), device.zone],
      [t("device.position"), device.lat != null ? `${device.lat.toFixed(5)}, ${device.lon.toFixed(5)}` : null],
      [t("device.heartbeat"), device.heartbeat_s ? t("device.every", { n: device.heartbeat_s }) : null],
      [t("device.lastSeen"), device.last_seen_at ? stamp(device.last_seen_at) : null],
      [t("device.battery"), device.battery_pct != null ? `${device.battery_pct} %` : null],
    ]),
    openAlerts.length ? h("section", {}, h("h3", {}, t("device.openAlerts")),
      h("ol", { class: "alert-list" }, ...openAlerts.map((a) => alertCard(a, { onDetails: (x) => openAlert(x.id) })))) : null,
    h("section", {}, h("h3", {}, t("device.readings")), chartBox),
    device.kind === "thermal_camera" ? h("section", {}, h("h3", {}, t("device.heatMap")), heat) : null,
  );
  readingsSection(chartBox, device, current);
  if (device.kind === "thermal_camera") heatmapSection(heat, deviceId, current);
}

function readingsSection(box, device, current) {
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
    ...metrics.map((m) => tab(metricLabel(m), m === metric, "btn", () => (metric = m))),
    ...RANGES.map((r) => tab(t("duration.hours", { n: r[0] }), r === range, "btn btn-quiet", () => (range = r))),
  );
  const load = async () => {
    renderTabs();
    const [hours, bucket] = range;
    const to = new Date();
    const from = new Date(to.getTime() - hours * 3600_000);
    try {
      const series = await getJson(`/api/v1/devices/${encodeURIComponent(device.id)}/readings${query({
        metric, from: from.toISOString(), to: to.toISOString(), bucket,
      })}`);
      if (!current()) return;
      drawReadings(canvas, series.points, { unit: metricUnit(metric) });
      const buckets = t("chart.buckets", { n: series.points.length, s: series.bucket_s });
      canvas.setAttribute("aria-label", `${metric}: ${buckets}`);
      note.textContent = `${buckets}${t("chart.legend")}`;
    } catch (error) {
      if (!current()) return;
      chartMessage(canvas, t("chart.unavailable"));
      note.replaceChildren(failure(error));
    }
  };
  box.replaceChildren(tabs, canvas, note);
  load();
}

async function heatmapSection(box, deviceId, current) {
  const reload = h("button", { class: "btn btn-quiet", type: "button", onclick: () => heatmapSection(box, deviceId, current) }, t("device.reload"));
  try {
    // An <img> cannot send the token: fetch the PNG and show it from a blob: URL.
    const response = await request(`/api/v1/devices/${encodeURIComponent(deviceId)}/frame.png`);
    const blob = await response.blob();
    if (!current()) return;
    const url = URL.createObjectURL(blob);
    onReplaced(() => URL.revokeObjectURL(url));
    const taken = response.headers.get("Last-Modified");
    box.replaceChildren(h("img", { class: "heatmap", src: url, alt: t("device.frameAlt", { id: deviceId }) }),
      h("p", { class: "muted small" }, taken ? `${t("device.frameOf", { time: stamp(taken) })} ` : "", reload));
  } catch (error) {
    if (!current()) return;
    const text = error instanceof ApiError && error.status === 404 ? t("device.noFrame") : failure(error);
    box.replaceChildren(h("p", { class: "muted" }, text, " "), reload);
  }
}
