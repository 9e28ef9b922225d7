// The site plan: buildings and devices placed by their coordinates on a canvas (no map tiles),
// coloured by state; a building with an open incident wears a ring of its class. Wheel to
// zoom, drag to pan, click a building or a device.

import { CLASSES, STATE_LABEL } from "./classes.js";
import { cssColor, fitCanvas } from "./canvas.js";
import { waiting } from "./state.js";

const BUILDING_M = 12; // plots are about 51 m apart along lanes 44 m apart
const DEVICE_HIT_PX = 8;
const MAX_ZOOM = 60;

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
    this.live = { byDevice: new Map(), byBuilding: new Map(), incidentAt: new Map() };
    this.selected = null;
    this.blink = false;
    this.view = { zoom: 1, cx: 0, cy: 0 };
    this.origin = null;
    this.listen();
  }

  setData({ buildings, devices, live }) {
    this.buildings = buildings.filter((b) => Number.isFinite(b.lat) && Number.isFinite(b.lon));
    this.devices = devices.filter((d) => Number.isFinite(d.lat) && Number.isFinite(d.lon));
    this.live = live;
    // What the rings say, for a screen reader (and a test): a canvas has no text of its own.
    const marked = [...live.incidentAt].map(([id, i]) => `${id} ${i.class}${waiting(i) ? " unacknowledged" : ""}`);
    this.canvas.setAttribute("aria-label", marked.length
      ? `Site plan of the quarter; open incidents: ${marked.sort().join(", ")}`
      : "Site plan of the quarter; no open incidents");
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

  draw() {
    const { ctx, width, height } = fitCanvas(this.canvas);
    if (!this.origin) return;
    const s = this.scale();
    const size = Math.max(7, BUILDING_M * s);
    const showDevices = size >= 40;
    ctx.lineWidth = 1;
    for (const b of this.buildings) {
      const [x, y] = this.toScreen(b.lat, b.lon);
      if (x < -size || y < -size || x > width + size || y > height + size) continue;
      const state = this.buildingState(b);
      ctx.fillStyle = buildingColour(state);
      ctx.globalAlpha = showDevices ? 0.35 : 1;
      ctx.fillRect(x - size / 2, y - size / 2, size, size);
      ctx.globalAlpha = 1;
      const incident = this.live.incidentAt.get(b.id);
      if (incident) {
        // The ring of a fire nobody has acknowledged blinks.
        const blinking = this.blink && incident.class === "fire" && waiting(incident);
        ctx.strokeStyle = blinking ? cssColor("text") : cssColor(incident.class);
        ctx.lineWidth = 3;
        ctx.strokeRect(x - size / 2 - 4, y - size / 2 - 4, size + 8, size + 8);
        ctx.lineWidth = 1;
      }
      if (this.selected?.building === b.id) {
        ctx.strokeStyle = cssColor("text");
        ctx.lineWidth = 2;
        ctx.strokeRect(x - size / 2 - 1, y - size / 2 - 1, size + 2, size + 2);
        ctx.lineWidth = 1;
      }
      if (size >= 28) {
        ctx.fillStyle = cssColor("muted");
        ctx.font = "12px system-ui, sans-serif";
        ctx.textAlign = "center";
        ctx.textBaseline = "top";
        ctx.fillText(b.id, x, y + size / 2 + 3);
      }
    }
    if (showDevices) this.drawDevices(ctx, width, height);
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
      const [x, y] = this.toScreen(b.lat, b.lon);
      if (Math.abs(x - px) <= size / 2 + 2 && Math.abs(y - py) <= size / 2 + 2) return { building: b };
    }
    return null;
  }

  buildingTitle(b) {
    const incident = this.live.incidentAt.get(b.id);
    const about = incident ? ` · ${incident.class} incident, ${STATE_LABEL[incident.state] ?? incident.state}` : "";
    return `${b.id} · ${b.devices ?? "?"} devices · ${b.open_alerts ?? 0} open alerts${about}`;
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
      c.title = found?.device
        ? `${found.device.id} · ${found.device.kind} · ${found.device.status}${found.device.online === false ? " · offline" : ""}`
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
