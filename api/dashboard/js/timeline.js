// The 24-hour timeline: alerts raised per hour, stacked by class, fire at the bottom; hours on
// the site's clock.

import { CLASSES, classLabel } from "./classes.js";
import { canvasFont, cssColor, emptyMessage, fitCanvas, ticks } from "./canvas.js";
import { formatClock, t } from "./i18n.js";

const PAD = { right: 12, top: 12, bottom: 28 };

export function drawTimeline(canvas, timeline) {
  const { ctx, width, height } = fitCanvas(canvas);
  const buckets = timeline ?? [];
  const totals = buckets.map((b) => CLASSES.reduce((sum, c) => sum + (b[c] ?? 0), 0));
  const max = Math.max(0, ...totals);
  if (!buckets.length || max === 0) {
    emptyMessage(ctx, width, height, buckets.length ? t("timeline.none") : t("timeline.waiting"));
    canvas.setAttribute("aria-label", t("timeline.ariaNone"));
    return;
  }
  ctx.font = canvasFont(13);
  const yTicks = ticks(0, max, 4, { integer: true }); // counts of alerts
  const left = Math.ceil(Math.max(...yTicks.map((tick) => ctx.measureText(tick.text).width))) + 14;
  const plotW = width - left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const top = Math.max(max, yTicks.at(-1).value);
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const slot = plotW / buckets.length;
  const barW = Math.max(2, Math.min(slot * 0.72, 48));

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

  const colours = Object.fromEntries(CLASSES.map((c) => [c, cssColor(c)]));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const labelEvery = Math.ceil(buckets.length / Math.max(1, Math.floor(plotW / 52)));
  buckets.forEach((bucket, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const c of CLASSES) {
      const n = bucket[c] ?? 0;
      if (!n) continue;
      ctx.fillStyle = colours[c];
      ctx.fillRect(x, y(base + n), barW, y(base) - y(base + n));
      base += n;
    }
    if (i % labelEvery === 0) {
      ctx.fillStyle = cssColor("muted");
      ctx.fillText(formatClock(bucket.hour, { seconds: false }), x + barW / 2, PAD.top + plotH + 6);
    }
  });
  const sum = (c) => buckets.reduce((s, b) => s + (b[c] ?? 0), 0);
  const counts = CLASSES.map((c) => t("timeline.count", { n: sum(c), class: classLabel(c) }));
  canvas.setAttribute("aria-label", t("timeline.aria", { counts: counts.join(t("common.listSeparator")) }));
}
