// The last 24 hours: new alerts per hour, stacked by class (fire at the bottom), with labels
// sized for the room: every size is a share of the root font, which follows the screen. The
// hours are labelled on round times of the site's clock.

import { CLASSES, classLabel } from "/static/js/classes.js";
import { canvasFont, cssColor, fitCanvas, ticks, timeTicks } from "/static/js/canvas.js";
import { formatClock, siteOffsetMs, t } from "/static/js/i18n.js";

const HOUR_MS = 3_600_000;
const rem = () => parseFloat(getComputedStyle(document.documentElement).fontSize);

export function drawDay(canvas, empty, totalsBox, timeline) {
  const { ctx, width, height } = fitCanvas(canvas);
  const buckets = timeline ?? [];
  const totals = CLASSES.map((c) => [c, buckets.reduce((n, b) => n + (b[c] ?? 0), 0)]);
  const counted = totals.map(([c, n]) => t("timeline.count", { class: classLabel(c), n }));
  totalsBox.replaceChildren(...totals.map(([c], i) => {
    const item = document.createElement("li");
    item.className = c;
    item.dataset.class = c;
    item.textContent = counted[i];
    return item;
  }));
  canvas.setAttribute("aria-label", t("timeline.aria", { counts: counted.join(t("common.listSeparator")) }));
  const perHour = buckets.map((b) => CLASSES.reduce((n, c) => n + (b[c] ?? 0), 0));
  const max = Math.max(0, ...perHour);
  empty.hidden = buckets.length > 0 && max > 0;
  empty.textContent = t(buckets.length ? "timeline.none" : "timeline.waiting");
  if (!empty.hidden) return;

  const font = 0.9 * rem();
  ctx.font = canvasFont(font, 600);
  // As many counts up the side as fit a line and a half apart, at most 3.
  const pad = { right: font * 1.6, top: font * 0.6, bottom: font * 1.6 };
  const plotH = height - pad.top - pad.bottom;
  const yTicks = ticks(0, max, Math.max(1, Math.min(3, Math.floor(plotH / (1.5 * font)))), { integer: true });
  const top = Math.max(max, yTicks.at(-1).value);
  pad.left = Math.max(...yTicks.map((tick) => ctx.measureText(tick.text).width)) + font * 0.6;
  const plotW = width - pad.left - pad.right;
  const y = (v) => pad.top + plotH - (v / top) * plotH;

  ctx.strokeStyle = cssColor("grid");
  ctx.fillStyle = cssColor("muted");
  ctx.lineWidth = Math.max(1, font / 16);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const tick of yTicks) {
    ctx.beginPath();
    ctx.moveTo(pad.left, y(tick.value));
    ctx.lineTo(width - pad.right, y(tick.value));
    ctx.stroke();
    ctx.fillText(tick.text, pad.left - font * 0.4, y(tick.value));
  }

  // A bar per hour, on a time axis from the first hour's start to the last one's end.
  const t0 = new Date(buckets[0].hour).getTime();
  const t1 = new Date(buckets.at(-1).hour).getTime() + HOUR_MS;
  const x = (ms) => pad.left + ((ms - t0) / (t1 - t0)) * plotW;
  const barW = Math.max(2, (plotW / buckets.length) * 0.75);
  for (const bucket of buckets) {
    const start = new Date(bucket.hour).getTime();
    const left = x(start + HOUR_MS / 2) - barW / 2;
    let base = 0;
    for (const c of CLASSES) {
      const n = bucket[c] ?? 0;
      if (!n) continue;
      ctx.fillStyle = cssColor(c);
      ctx.fillRect(left, y(base + n), barW, y(base) - y(base + n));
      base += n;
    }
  }
  const labelW = ctx.measureText("00:00").width + 1.5 * font;
  ctx.fillStyle = cssColor("muted");
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const tick of timeTicks(t0, t1, Math.floor(plotW / labelW), siteOffsetMs()).ticks) {
    ctx.fillText(formatClock(tick, { seconds: false }), x(tick), pad.top + plotH + font * 0.35);
  }
}
