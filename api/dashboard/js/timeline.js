// The 24-hour timeline: alerts raised per hour, stacked by class, fire at the bottom.

import { CLASSES } from "./classes.js";
import { cssColor, emptyMessage, fitCanvas, ticks } from "./canvas.js";

const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

export function drawTimeline(canvas, timeline) {
  const { ctx, width, height } = fitCanvas(canvas);
  const buckets = timeline ?? [];
  const totals = buckets.map((b) => CLASSES.reduce((sum, c) => sum + (b[c] ?? 0), 0));
  const max = Math.max(0, ...totals);
  if (!buckets.length || max === 0) {
    emptyMessage(ctx, width, height, buckets.length ? "No alerts in this period" : "Waiting for the overview…");
    canvas.setAttribute("aria-label", "Timeline: no alerts");
    return;
  }
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const yTicks = ticks(0, max, 4, { integer: true }); // counts of alerts
  const top = Math.max(max, yTicks.at(-1));
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const slot = plotW / buckets.length;
  const barW = Math.max(2, slot * 0.72);

  ctx.font = "13px system-ui, sans-serif";
  ctx.strokeStyle = cssColor("grid");
  ctx.fillStyle = cssColor("muted");
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of yTicks) {
    ctx.beginPath();
    ctx.moveTo(PAD.left, Math.round(y(t)) + 0.5);
    ctx.lineTo(width - PAD.right, Math.round(y(t)) + 0.5);
    ctx.stroke();
    ctx.fillText(String(t), PAD.left - 6, y(t));
  }

  const colours = Object.fromEntries(CLASSES.map((c) => [c, cssColor(c)]));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const labelEvery = Math.ceil(buckets.length / Math.max(1, Math.floor(plotW / 48)));
  buckets.forEach((bucket, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const c of CLASSES) {
      const n = bucket[c] ?? 0;
      if (!n) continue;
      ctx.fillStyle = colours[c];
      ctx.fillRect(x, y(base + n), barW, y(base) - y(base + n));
      base += n;
    }
    if (i % labelEvery === 0) {
      const hour = new Date(bucket.hour);
      ctx.fillStyle = cssColor("muted");
      ctx.fillText(`${String(hour.getHours()).padStart(2, "0")}:00`, x + barW / 2, PAD.top + plotH + 6);
    }
  });
  const sum = (c) => buckets.reduce((s, b) => s + (b[c] ?? 0), 0);
  canvas.setAttribute("aria-label", `Timeline: ${CLASSES.map((c) => `${sum(c)} ${c}`).join(", ")}`);
}
