// A device's readings: the min–max band of each time bucket and its average as a line.
// Raw points ({t, v}) from an alert's detail are drawn as a line alone. The axes stay readable
// for one bucket, one flat value and a span of seconds: the y labels set the left margin, and
// the time ticks are round times on the site's clock, never the same time written thrice.

import { canvasFont, cssColor, emptyMessage, fitCanvas, ticks, timeTicks } from "./canvas.js";
import { formatClock, formatDay, siteOffsetMs, t } from "./i18n.js";

const PAD = { right: 16, top: 12, bottom: 28 };
const LONE_POINT_MS = 60_000; // a single bucket is drawn in the middle of two minutes

function normalise(points) {
  return points
    .map((p) => ("v" in p ? { t: Date.parse(p.t), min: p.v, avg: p.v, max: p.v } : { ...p, t: Date.parse(p.t) }))
    .filter((p) => Number.isFinite(p.avg))
    .sort((a, b) => a.t - b.t);
}

// A tick's time on the site's clock; midnight is written as the day it starts (12-05), so a
// day's span does not read "00:00 … 00:00".
function tickLabel(time, seconds) {
  const midnight = (time + siteOffsetMs(time)) % 86_400_000 === 0;
  return midnight && !seconds ? formatDay(time) : formatClock(time, { seconds });
}

export function chartMessage(canvas, text) {
  const { ctx, width, height } = fitCanvas(canvas);
  emptyMessage(ctx, width, height, text);
}

// The value range: a flat series gets room around it, and never dips below zero if no value does.
function valueRange(data) {
  let lo = Math.min(...data.map((p) => p.min ?? p.avg));
  let hi = Math.max(...data.map((p) => p.max ?? p.avg));
  const floor = lo >= 0 ? 0 : -Infinity;
  if (hi - lo < 1e-9) {
    const room = Math.max(1, Math.abs(hi) * 0.1);
    [lo, hi] = [lo - room, hi + room];
  }
  const pad = (hi - lo) * 0.08;
  return [Math.max(floor, lo - pad), hi + pad];
}

export function drawReadings(canvas, points, { unit = "", colour = "accent" } = {}) {
  const { ctx, width, height } = fitCanvas(canvas);
  const data = normalise(points ?? []);
  if (!data.length) {
    emptyMessage(ctx, width, height, t("chart.empty"));
    return;
  }
  const [lo, hi] = valueRange(data);
  const lone = data.at(-1).t === data[0].t;
  const t0 = lone ? data[0].t - LONE_POINT_MS : data[0].t;
  const t1 = lone ? data[0].t + LONE_POINT_MS : data.at(-1).t;

  ctx.font = canvasFont(12);
  const yTicks = ticks(lo, hi, 4).map((tick) => ({ ...tick, text: `${tick.text}${unit ? ` ${unit}` : ""}` }));
  const left = Math.ceil(Math.max(...yTicks.map((tick) => ctx.measureText(tick.text).width))) + 12;
  const plotW = width - left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const x = (time) => left + ((time - t0) / (t1 - t0)) * plotW;
  const y = (v) => PAD.top + plotH - ((v - lo) / (hi - lo)) * plotH;

  ctx.strokeStyle = cssColor("grid");
  ctx.fillStyle = cssColor("muted");
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const tick of yTicks) {
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(tick.value)) + 0.5);
    ctx.lineTo(width - PAD.right, Math.round(y(tick.value)) + 0.5);
    ctx.stroke();
    ctx.fillText(tick.text, left - 6, y(tick.value));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const times = lone
    ? { ticks: [data[0].t], seconds: data[0].t % 60_000 !== 0 }
    : timeTicks(t0, t1, Math.floor(plotW / 90), siteOffsetMs(t0));
  const labels = times.ticks.map((time) => (lone ? formatClock(time, { seconds: times.seconds }) : tickLabel(time, times.seconds)));
  times.ticks.forEach((time, i) => {
    const text = labels[i];
    const half = ctx.measureText(text).width / 2;
    ctx.fillText(text, Math.min(Math.max(x(time), left + half), width - PAD.right - half), PAD.top + plotH + 6);
  });

  const stroke = cssColor(colour);
  ctx.fillStyle = stroke;
  ctx.globalAlpha = 0.25;
  ctx.beginPath();
  data.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.max)) : ctx.moveTo(x(p.t), y(p.max))));
  for (let i = data.length - 1; i >= 0; i--) ctx.lineTo(x(data[i].t), y(data[i].min));
  ctx.closePath();
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.strokeStyle = stroke;
  ctx.lineWidth = 2;
  ctx.beginPath();
  data.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.avg)) : ctx.moveTo(x(p.t), y(p.avg))));
  ctx.stroke();
  if (lone) {
    // One bucket: its band as a bar and its average as a dot.
    ctx.fillRect(x(data[0].t) - 1, y(data[0].max), 2, Math.max(1, y(data[0].min) - y(data[0].max)));
    ctx.beginPath();
    ctx.arc(x(data[0].t), y(data[0].avg), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  // What was drawn, for a screen reader and the tests: a canvas has no text of its own.
  canvas.dataset.axes = JSON.stringify({ y: yTicks.map((tick) => tick.text), x: labels });
}
