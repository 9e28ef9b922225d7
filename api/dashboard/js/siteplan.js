// The site plan: buildings and devices placed by their coordinates on a canvas (no map tiles),
// coloured by state; a building with an open incident wears a ring of its class. A building is
// drawn as its registry footprint where it has one, else as a square; the site's street lines
// (optional, from the server's GeoJSON file) lie underneath. Wheel to zoom, drag to pan, click a
// building or a device.

import { CLASSES, classLabel, stateLabel } from "./classes.js";
import { canvasFont, cssColor, fitCanvas } from "./canvas.js";
import { label, t } from "./i18n.js";
import { waiting } from "./state.js";

const BUILDING_M = 12; // plots are about 51 m apart along lanes 44 m apart
const STREET_M = 6; // a lane's width on the plan
const DEVICE_HIT_PX = 8;
const MAX_ZOOM = 60;
const MIN_FOOTPRINT_PX = 7; // a footprint smaller than this on screen is drawn as a square

// Is (px, py) inside the polygon `ring` of [x, y] (even-odd rule)?
function inside(ring, px, py) {
  let hit = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function buildingColour(state) {
  if (CLASSES.includes(state)) return cssColor(state);
  if (state === "offline" || state === "fault") return cssColor("offline");
  return cssColor("normal");
}

function deviceColour(device, alertClass) {
  if (alertClass) return cssColor(alertClass);
  if (device.status !== "active") return cssColor("maintenance"); // maintenance, commissioning…
  if (device.online === false) return cssColor("offline");
  return cssColor("ok");
}

export class SitePlan {
  constructor(canvas, { onBuilding, onDevice }) {
    Object.assign(this, { canvas, onBuilding, onDevice });
    this.buildings = [];
    this.devices = [];
    this.streets = [];
    this.live = { byDevice: new Map(), byBuilding: new Map(), incidentAt: new Map() };
    this.selected = null;
    this.blink = false;
    this.view = { zoom: 1, cx: 0, cy: 0 };
    this.origin = null;
    this.listen();
  }

  // `streets`: lines, each a list of [lon, lat]; buildings may carry a `footprint` ring of them.
  setData({ buildings, devices, live, streets = [] }) {
    this.buildings = buildings.filter((b) => Number.isFinite(b.lat) && Number.isFinite(b.lon));
    this.devices = devices.filter((d) => Number.isFinite(d.lat) && Number.isFinite(d.lon));
    this.streets = streets;
    this.live = live;
    // What the rings say, for a screen reader (and a test): a canvas has no text of its own.
    const marked = [...live.incidentAt].map(([id, i]) =>
      t(waiting(i) ? "plan.incidentWaiting" : "plan.incident", { id, class: classLabel(i.class) }));
    this.canvas.setAttribute("aria-label", marked.length
      ? t("plan.ariaIncidents", { list: marked.sort().join(t("common.listSeparator")) })
      : t("plan.ariaQuiet"));
    this.canvas.dataset.incidents = [...live.incidentAt]
      .map(([id, i]) => `${id} ${i.class}${waiting(i) ? " unacknowledged" : ""}`).sort().join(", ");
    this.canvas.dataset.footprints = String(this.buildings.filter((b) => b.footprint).length);
    this.canvas.dataset.streets = String(this.streets.length);
    if (!this.origin && this.buildings.length) this.fitOrigin();
    this.draw();
  }

  fitOrigin() {
    const lats = this.buildings.map((b) => b.lat);
    const lons = this.buildings.map((b) => b.lon);
    const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2;
    const lon0 = (Math.min(...lons) + Math.max(...lons)) / 2;
    const kx = 111_320 * Math.cos((lat0 * Math.PI) / 180);
    const ky = 110_540;
    this.origin = { lat0, lon0, kx, ky };
    const xs = lons.map((lon) => (lon - lon0) * kx);
    const ys = lats.map((lat) => (lat - lat0) * ky);
    this.span = {
      w: Math.max(50, Math.max(...xs) - Math.min(...xs)) + 4 * BUILDING_M,
      h: Math.max(50, Math.max(...ys) - Math.min(...ys)) + 4 * BUILDING_M,
    };
    this.reset();
  }

  reset() {
    this.view = { zoom: 1, cx: 0, cy: 0 };
    this.draw();
  }

  scale() {
    const w = this.canvas.clientWidth;
    const h = this.canvas.clientHeight;
    return Math.min(w / this.span.w, h / this.span.h) * this.view.zoom;
  }

  toScreen(lat, lon) {
    const { lat0, lon0, kx, ky } = this.origin;
    const s = this.scale();
    return [
      this.canvas.clientWidth / 2 + ((lon - lon0) * kx - this.view.cx) * s,
      this.canvas.clientHeight / 2 - ((lat - lat0) * ky - this.view.cy) * s,
    ];
  }

  buildingState(b) {
    return this.live.byBuilding.get(b.id) ?? b.state;
  }

  // A building's outline on screen: its footprint if it has one big enough to see, else a
  // square `size` wide around its position.
  outline(b, size) {
    if (b.footprint) {
      const ring = b.footprint.map(([lon, lat]) => this.toScreen(lat, lon));
      const xs = ring.map((p) => p[0]);
      const ys = ring.map((p) => p[1]);
      if (Math.max(...xs) - Math.min(...xs) >= MIN_FOOTPRINT_PX || Math.max(...ys) - Math.min(...ys) >= MIN_FOOTPRINT_PX) {
        return ring;
      }
    }
    const [x, y] = this.toScreen(b.lat, b.lon);
    const r = size / 2;
    return [[x - r, y - r], [x + r, y - r], [x + r, y + r], [x - r, y + r]];
  }

  drawStreets(ctx) {
    ctx.strokeStyle = cssColor("street");
    ctx.lineWidth = Math.min(24, Math.max(1.5, STREET_M * this.scale()));
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const line of this.streets) {
      ctx.beginPath();
      line.forEach(([lon, lat], i) => {
        const [x, y] = this.toScreen(lat, lon);
        if (i) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
      });
      ctx.stroke();
    }
    ctx.lineWidth = 1;
  }

  draw() {
    const { ctx, width, height } = fitCanvas(this.canvas);
    if (!this.origin) return;
    const s = this.scale();
    const size = Math.max(7, BUILDING_M * s);
    const showDevices = size >= 40;
    this.drawStreets(ctx);
    const labels = [];
    const path = (ring) => {
      ctx.beginPath();
      ring.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
    };
    for (const b of this.buildings) {
      const ring = this.outline(b, size);
      const xs = ring.map((p) => p[0]);
      const ys = ring.map((p) => p[1]);
      const box = { left: Math.min(...xs), right: Math.max(...xs), top: Math.min(...ys), bottom: Math.max(...ys) };
      if (box.right < 0 || box.bottom < 0 || box.left > width || box.top > height) continue;
      const colour = buildingColour(this.buildingState(b));
      path(ring);
      ctx.fillStyle = colour;
      ctx.globalAlpha = showDevices ? 0.35 : 1;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.stroke();
      const incident = this.live.incidentAt.get(b.id);
      if (incident) {
        // The ring of a fire nobody has acknowledged blinks.
        const blinking = this.blink && incident.class === "fire" && waiting(incident);
        ctx.strokeStyle = blinking ? cssColor("text") : cssColor(incident.class);
        ctx.lineWidth = 3;
        ctx.strokeRect(box.left - 4, box.top - 4, box.right - box.left + 8, box.bottom - box.top + 8);
      }
      if (this.selected?.building === b.id) {
        ctx.strokeStyle = cssColor("text");
        ctx.lineWidth = 2;
        path(ring);
        ctx.stroke();
      }
      ctx.lineWidth = 1;
      if (size >= 18) {
        const x = (box.left + box.right) / 2;
        labels.push({ text: b.id, x, y: box.bottom + (incident ? 8 : 3) }); // below the ring
      }
    }
    this.drawLabels(ctx, labels, size >= 28 ? 12 : 11);
    if (showDevices) this.drawDevices(ctx, width, height);
  }

  // Buildings' names, each where it does not overlap one already written.
  drawLabels(ctx, labels, px) {
    ctx.fillStyle = cssColor("muted");
    ctx.font = canvasFont(px);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const taken = [];
    for (const { text, x, y } of labels) {
      const half = ctx.measureText(text).width / 2 + 3;
      const box = { left: x - half, right: x + half, top: y, bottom: y + px + 2 };
      if (taken.some((o) => box.left < o.right && o.left < box.right && box.top < o.bottom && o.top < box.bottom)) continue;
      taken.push(box);
      ctx.fillText(text, x, y);
    }
  }

  drawDevices(ctx, width, height) {
    const r = Math.min(7, Math.max(3, this.scale() * 0.6));
    for (const d of this.devices) {
      const [x, y] = this.toScreen(d.lat, d.lon);
      if (x < 0 || y < 0 || x > width || y > height) continue;
      ctx.fillStyle = deviceColour(d, this.live.byDevice.get(d.id));
      ctx.beginPath();
      if (d.kind === "thermal_camera") ctx.rect(x - r, y - r, 2 * r, 2 * r);
      else if (d.kind === "electrical") {
        ctx.moveTo(x, y - r);
        ctx.lineTo(x + r, y + r);
        ctx.lineTo(x - r, y + r);
        ctx.closePath();
      } else ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fill();
      ctx.strokeStyle = this.selected?.device === d.id ? cssColor("text") : cssColor("bg");
      ctx.stroke();
    }
  }

  hit(px, py) {
    if (!this.origin) return null;
    const size = Math.max(7, BUILDING_M * this.scale());
    if (size >= 40) {
      let best = null;
      let bestD = DEVICE_HIT_PX;
      for (const d of this.devices) {
        const [x, y] = this.toScreen(d.lat, d.lon);
        const dist = Math.hypot(x - px, y - py);
        if (dist <= bestD) [best, bestD] = [d, dist];
      }
      if (best) return { device: best };
    }
    for (const b of this.buildings) {
      const ring = this.outline(b, size + 4);
      if (inside(ring, px, py)) return { building: b };
    }
    return null;
  }

  buildingTitle(b) {
    const incident = this.live.incidentAt.get(b.id);
    const about = incident ? ` · ${t("plan.titleIncident", { class: classLabel(incident.class), state: stateLabel(incident.state) })}` : "";
    return `${b.id} · ${t("plan.titleCounts", { devices: b.devices ?? "?", open: b.open_alerts ?? 0 })}${about}`;
  }

  // Puts a building in the middle, close enough to tell its devices apart.
  focus(buildingId) {
    const b = this.buildings.find((x) => x.id === buildingId);
    if (!b || !this.origin) return;
    const { lat0, lon0, kx, ky } = this.origin;
    this.view = { zoom: Math.max(this.view.zoom, 8), cx: (b.lon - lon0) * kx, cy: (b.lat - lat0) * ky };
    this.draw();
  }

  listen() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener("wheel", (e) => {
      if (!this.origin) return;
      e.preventDefault();
      const rect = c.getBoundingClientRect();
      const px = e.clientX - rect.left - c.clientWidth / 2;
      const py = e.clientY - rect.top - c.clientHeight / 2;
      const before = this.scale();
      this.view.zoom = Math.min(MAX_ZOOM, Math.max(1, this.view.zoom * Math.exp(-e.deltaY * 0.0015)));
      const after = this.scale();
      // Keep the point under the cursor where it was.
      this.view.cx += px / before - px / after;
      this.view.cy -= py / before - py / after;
      this.draw();
    }, { passive: false });
    c.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener("pointermove", (e) => {
      if (drag) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (drag.moved || Math.hypot(dx, dy) > 4) {
          drag.moved = true;
          const s = this.scale();
          this.view.cx -= dx / s;
          this.view.cy += dy / s;
          drag.x = e.clientX;
          drag.y = e.clientY;
          this.draw();
        }
        return;
      }
      const rect = c.getBoundingClientRect();
      const found = this.hit(e.clientX - rect.left, e.clientY - rect.top);
      c.style.cursor = found ? "pointer" : "grab";
      const d = found?.device;
      c.title = d
        ? [d.id, label("kind", d.kind), label("deviceStatus", d.status), d.online === false && t("device.offline")].filter(Boolean).join(" · ")
        : found?.building ? this.buildingTitle(found.building) : "";
    });
    c.addEventListener("pointerup", (e) => {
      const wasDrag = drag?.moved;
      drag = null;
      if (wasDrag) return;
      const rect = c.getBoundingClientRect();
      const found = this.hit(e.clientX - rect.left, e.clientY - rect.top);
      if (found?.device) this.onDevice(found.device);
      else if (found?.building) this.onBuilding(found.building);
    });
  }
}
