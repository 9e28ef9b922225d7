// Loading what the views show: the open incidents and alerts, the overview, the device registry.

import { getJson, query, request } from "./api.js";
import { changed, replaceOpenAlerts, replaceOpenIncidents, state } from "./state.js";

const OPEN_LIMIT = 1000;
const INCIDENT_PAGE = 500;
const DEVICE_PAGE = 1000;

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

// Buildings for the plan: the overview's, else the mean position of each building's devices.
export function planBuildings() {
  if (state.overview?.buildings?.length) return state.overview.buildings;
  const sums = new Map();
  for (const d of state.devices.values()) {
    if (!d.building || !Number.isFinite(d.lat)) continue;
    const s = sums.get(d.building) ?? { id: d.building, lat: 0, lon: 0, devices: 0, state: "normal" };
    s.lat += d.lat;
    s.lon += d.lon;
    s.devices += 1;
    sums.set(d.building, s);
  }
  return [...sums.values()].map((s) => ({ ...s, lat: s.lat / s.devices, lon: s.lon / s.devices }));
}

// The report needs the token, so it is fetched here and shown from a blob: URL.
export async function openShiftReport(hours, win) {
  const to = new Date();
  const from = new Date(to.getTime() - hours * 3600_000);
  const response = await request(`/api/v1/reports/shift${query({ from: from.toISOString(), to: to.toISOString(), format: "html" })}`);
  const blob = new Blob([await response.text()], { type: "text/html" });
  win.location.href = URL.createObjectURL(blob);
}
