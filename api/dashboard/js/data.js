// Loading what the views show: the open incidents and alerts, the overview, the device registry,
// the buildings' footprints and the site's street lines.

import { ApiError, getJson, query, request } from "./api.js";
import { changed, replaceOpenAlerts, replaceOpenIncidents, state } from "./state.js";

const OPEN_LIMIT = 1000;
const INCIDENT_PAGE = 500;
const DEVICE_PAGE = 1000;
const BUILDING_PAGE = 1000;

// Every open incident, page by page (newest first; `before` is the cursor).
export async function loadIncidents() {
  const since = performance.now();
  const incidents = [];
  let before = null;
  do {
    const page = await getJson(`/api/v1/incidents${query({ open: true, limit: INCIDENT_PAGE, before })}`);
    incidents.push(...page.items);
    before = page.next_before;
  } while (before !== null);
  replaceOpenIncidents(incidents, since);
  changed("incidents");
}

// Every open alert: the technicians' list, the signals' drawers, the devices on the plan.
export async function loadAlerts() {
  const since = performance.now();
  const alerts = await getJson(`/api/v1/alerts${query({ open: true, limit: OPEN_LIMIT })}`);
  replaceOpenAlerts(alerts, since);
  changed("alerts");
}

export async function loadOverview() {
  state.overview = await getJson("/api/v1/overview?hours=24");
  changed("overview");
}

// The registry, page by page, for the plan and the drawers.
export async function loadDevices(site) {
  const devices = new Map();
  for (let offset = 0; ; offset += DEVICE_PAGE) {
    const page = await getJson(`/api/v1/devices${query({ site, limit: DEVICE_PAGE, offset, sort: "id" })}`);
    for (const d of page.items) if (d.status !== "decommissioned") devices.set(d.id, d);
    if (page.items.length < DEVICE_PAGE || offset + DEVICE_PAGE >= page.total) break;
  }
  state.devices = devices;
  changed("devices");
}

// The footprints the registry holds, page by page.
export async function loadFootprints() {
  const footprints = new Map();
  for (let offset = 0; ; offset += BUILDING_PAGE) {
    const page = await getJson(`/api/v1/buildings${query({ limit: BUILDING_PAGE, offset })}`);
    for (const b of page.items) if (b.footprint) footprints.set(b.id, b.footprint);
    if (page.items.length < BUILDING_PAGE || offset + BUILDING_PAGE >= page.total) break;
  }
  state.footprints = footprints;
  changed("devices");
}

// The site's street lines, if the server has a file of them (404: none).
export async function loadStreets() {
  try {
    const collection = await getJson("/api/v1/streets");
    state.streets = collection.features.flatMap(({ geometry }) =>
      geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    state.streets = [];
  }
  changed("devices");
}

// Buildings for the plan, with their footprints: the overview's, else the mean position of each
// building's devices.
export function planBuildings() {
  const withFootprint = (b) => {
    const footprint = state.footprints.get(b.id);
    if (!footprint) return b;
    // A building whose devices have no position is placed by its outline.
    const mean = (i) => footprint.reduce((sum, p) => sum + p[i], 0) / footprint.length;
    return Number.isFinite(b.lat) ? { ...b, footprint } : { ...b, footprint, lon: mean(0), lat: mean(1) };
  };
  if (state.overview?.buildings?.length) return state.overview.buildings.map(withFootprint);
  const sums = new Map();
  for (const d of state.devices.values()) {
    if (!d.building || !Number.isFinite(d.lat)) continue;
    const s = sums.get(d.building) ?? { id: d.building, lat: 0, lon: 0, devices: 0, state: "normal" };
    s.lat += d.lat;
    s.lon += d.lon;
    s.devices += 1;
    sums.set(d.building, s);
  }
  return [...sums.values()].map((s) => withFootprint({ ...s, lat: s.lat / s.devices, lon: s.lon / s.devices }));
}

// The report needs the token, so it is fetched here and shown from a blob: URL.
export async function openShiftReport(hours, win) {
  const to = new Date();
  const from = new Date(to.getTime() - hours * 3600_000);
  const response = await request(`/api/v1/reports/shift${query({ from: from.toISOString(), to: to.toISOString(), format: "html" })}`);
  const blob = new Blob([await response.text()], { type: "text/html" });
  win.location.href = URL.createObjectURL(blob);
}
