// Canvas helpers shared by the charts and the site plan: sharp on HiDPI screens, colours and
// fonts from the stylesheet (one place defines them), readable axis ticks.

export function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

export function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();
}

// The page's own font stack, so Chinese on a canvas uses the fonts the page does.
export function canvasFont(px, weight = "normal") {
  return `${weight} ${px}px ${getComputedStyle(document.body).fontFamily}`;
}

// 1, 2 or 5 times a power of ten, so that about `count` ticks cover 0..max.
function niceStep(max, count = 4) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].find((m) => m * power >= raw) * power;
}

// Ticks from min to max, each with its label written to the step's precision; at least two
// where the range allows, so that a narrow range still has a scale.
export function ticks(min, max, count = 4, { integer = false } = {}) {
  const step = integer ? Math.max(1, niceStep(max - min, count)) : niceStep(max - min, count);
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const out = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    const value = Number(v.toPrecision(12));
    out.push({ value, text: (Object.is(value, -0) ? 0 : value).toFixed(digits) });
  }
  const finer = integer ? step > 1 : count < 64;
  return out.length < 2 && finer ? ticks(min, max, count * 2, { integer }) : out;
}

// Steps a time axis may take, in seconds.
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

// Round times between t0 and t1 (ms), at most `most` of them, aligned on the site's clock
// (`offsetMs` east of UTC), and whether their labels need seconds.
export function timeTicks(t0, t1, most, offsetMs) {
  const span = (t1 - t0) / 1000;
  const step = (TIME_STEPS.find((s) => span / s <= Math.max(1, most)) ?? 86400) * 1000;
  const out = [];
  for (let t = Math.ceil((t0 + offsetMs) / step) * step - offsetMs; t <= t1; t += step) out.push(t);
  return { ticks: out, seconds: step < 60_000 };
}

export function emptyMessage(ctx, width, height, text) {
  ctx.fillStyle = cssColor("muted");
  ctx.font = canvasFont(16);
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, width / 2, height / 2);
}
