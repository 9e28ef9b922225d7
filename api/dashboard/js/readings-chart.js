// A device's readings: the min–max band of each time bucket and its average as a line.
// Raw points ({t, v}) from an alert's detail are drawn as a line alone.

import { cssColor, emptyMessage, fitCanvas, ticks } from "./canvas.js";

const PAD = { left: 52, right: 12, top: 12, bottom: 28 };

function normalise(points) {
  return points
    .map((p) => ("v" in p ? { t: Date.parse(p.t), min: p.v, avg: p.v, max: p.v } : { ...p, t: Date.parse(p.t) }))
    .filter((p) => Number.isFinite(p.avg))
    .sort((a, b) => a.t - b.t);
}

export function chartMessage(canvas, text) {
  const { ctx, width, height } = fitCanvas(canvas);
  emptyMessage(ctx, width, height, text);
}

export function drawReadings(canvas, points, { unit = "", colour = "accent" } = {}) {
  const { ctx, width, height } = fitCanvas(canvas);
  const data = normalise(points ?? []);
  if (!data.length) {
    emptyMessage(ctx, width, height, "No readings in this period");
    return;
  }
  let lo = Math.min(...data.map((p) => p.min ?? p.avg));
  let hi = Math.max(...data.map((p) => p.max ?? p.avg));
  if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const t0 = data[0].t;
  const t1 = Math.max(data.at(-1).t, t0 + 1);
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v) => PAD.top + plotH - ((v - lo) / (hi - lo)) * plotH;

  ctx.font = "12px system-ui, sans-serif";
  ctx.strokeStyle = cssColor("grid");
  ctx.fillStyle = cssColor("muted");
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of ticks(lo, hi, 4)) {
    ctx.beginPath();
    ctx.moveTo(PAD.left, Math.round(y(v)) + 0.5);
    ctx.lineTo(width - PAD.right, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.fillText(`${v}${unit}`, PAD.left - 6, y(v));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of [t0, (t0 + t1) / 2, t1]) {
    const d = new Date(t);
    const label = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
    ctx.fillText(label, Math.min(Math.max(x(t), PAD.left + 18), width - PAD.right - 18), PAD.top + plotH + 6);
  }

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
  if (data.length === 1) {
    ctx.beginPath();
    ctx.arc(x(data[0].t), y(data[0].avg), 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}
