// The last 24 hours: new alerts per hour, stacked by class (fire at the bottom), with labels
// sized for the room: every size is a share of the root font, which follows the screen.

import { CLASSES } from "/static/js/classes.js";
import { cssColor, fitCanvas, ticks } from "/static/js/canvas.js";
import { hourMinute, siteHour } from "./site-time.js";
import { say } from "./text.js";

const EVERY = [1, 2, 3, 6, 12];
const rem = () => parseFloat(getComputedStyle(document.documentElement).fontSize);

export function drawDay(canvas, empty, totalsBox, timeline) {
  const { ctx, width, height } = fitCanvas(canvas);
  const buckets = timeline ?? [];
  const sum = (c) => buckets.reduce((n, b) => n + (b[c] ?? 0), 0);
  const totals = Object.fromEntries(CLASSES.map((c) => [c, sum(c)]));
  totalsBox.replaceChildren(...CLASSES.map((c) => {
    const item = document.createElement("li");
    item.className = c;
    item.dataset.class = c;
    item.textContent = `${say(`class.${c}`)} ${totals[c]}`;
    return item;
  }));
  canvas.setAttribute("aria-label", say("day.chart", {
    totals: CLASSES.map((c) => `${say(`class.${c}`)} ${totals[c]}`).join("，"),
  }));
  const perHour = buckets.map((b) => CLASSES.reduce((n, c) => n + (b[c] ?? 0), 0));
  const max = Math.max(0, ...perHour);
  empty.hidden = buckets.length > 0 && max > 0;
  empty.textContent = buckets.length ? say("day.none") : say("day.waiting");
  if (!empty.hidden) return;

  const font = 0.9 * rem();
  ctx.font = `600 ${font}px ${getComputedStyle(canvas).fontFamily}`;
  const yTicks = ticks(0, max, 3, { integer: true });
  const top = Math.max(max, yTicks.at(-1));
  const left = Math.max(...yTicks.map((t) => ctx.measureText(String(t)).width)) + font * 0.6;
  const pad = { left, right: font * 0.4, top: font * 0.6, bottom: font * 1.6 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const y = (v) => pad.top + plotH - (v / top) * plotH;

  ctx.strokeStyle = cssColor("grid");
  ctx.fillStyle = cssColor("muted");
  ctx.lineWidth = Math.max(1, font / 16);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of yTicks) {
    ctx.beginPath();
    ctx.moveTo(pad.left, y(t));
    ctx.lineTo(width - pad.right, y(t));
    ctx.stroke();
    ctx.fillText(String(t), pad.left - font * 0.4, y(t));
  }

  // A bar per hour; a label on the hours of the site's clock that divide the day evenly (every
  // 1, 2, 3, 6 or 12 hours), as many as fit side by side.
  const slot = plotW / buckets.length;
  const barW = Math.max(2, slot * 0.75);
  const labelW = ctx.measureText("00:00").width * 1.6;
  const labelEvery = EVERY.find((n) => n * slot >= labelW) ?? 24;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  buckets.forEach((bucket, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const c of CLASSES) {
      const n = bucket[c] ?? 0;
      if (!n) continue;
      ctx.fillStyle = cssColor(c);
      ctx.fillRect(x, y(base + n), barW, y(base) - y(base + n));
      base += n;
    }
    if (siteHour(bucket.hour) % labelEvery === 0) {
      const centre = Math.min(Math.max(x + barW / 2, pad.left + labelW / 3), width - labelW / 3);
      ctx.fillStyle = cssColor("muted");
      ctx.fillText(hourMinute(bucket.hour), centre, pad.top + plotH + font * 0.35);
    }
  });
}
