// The dashboard's one state object. Views subscribe; nothing else holds a copy of the data.

import { worstClass } from "./classes.js";

const listeners = new Set();

export const state = {
  incidents: new Map(), // id -> IncidentRead, open ones plus the recently resolved
  alerts: new Map(), // id -> AlertRead, open ones plus the recently resolved
  overview: null,
  devices: new Map(), // id -> device
  footprints: new Map(), // building id -> its registry outline, a ring of [lon, lat]
  streets: [], // the site's street lines, each a list of [lon, lat]
  tab: "incidents", // the live list shows incidents, or the technicians' alerts
  filter: null, // a class, or null for all
  selected: null, // { device } or { alert, device } or { incident } or { building }
};

export function subscribe(listener) {
  listeners.add(listener);
}

export function changed(what) {
  for (const listener of listeners) listener(what);
}

// kind ("alerts" or "incidents") -> id -> performance.now() when the stream last brought it
const seenAt = { alerts: new Map(), incidents: new Map() };

// A stream event and a list reload may arrive in either order: the newer version wins.
function upsert(kind, item) {
  const known = state[kind].get(item.id);
  if (known && known.updated_at > item.updated_at) return false;
  state[kind].set(item.id, item);
  seenAt[kind].set(item.id, performance.now());
  return true;
}

export const upsertAlert = (alert) => upsert("alerts", alert);
export const upsertIncident = (incident) => upsert("incidents", incident);

// An alert event brings a signal's newest rule, state and peak before (or without) its
// incident's own event: the card shows them at once. Returns whether an incident changed.
export function patchSignal(alert) {
  const incident = state.incidents.get(alert.incident_id);
  const at = incident?.signals?.findIndex((s) => s.alert_id === alert.id) ?? -1;
  if (at < 0) return false;
  const signals = incident.signals.with(at, {
    ...incident.signals[at],
    rule: alert.rule, class: alert.class, state: alert.state, peak: alert.peak, last_at: alert.last_at, count: alert.count,
  });
  const openSignals = signals.filter((s) => s.state !== "resolved").length;
  state.incidents.set(incident.id, {
    ...incident,
    signals,
    counts: incident.counts && { ...incident.counts, open_signals: openSignals },
    last_at: incident.last_at > alert.last_at ? incident.last_at : alert.last_at,
  });
  return true;
}

// The open list read since `since` (a performance.now()), merged with what the stream brought
// while it was being read.
function replaceOpen(kind, items, since) {
  const fresh = new Map(items.map((a) => [a.id, a]));
  for (const [id, known] of state[kind]) {
    const listed = fresh.get(id);
    if (listed ? known.updated_at > listed.updated_at : (seenAt[kind].get(id) ?? -1) >= since) fresh.set(id, known);
  }
  state[kind] = fresh;
}

export const replaceOpenAlerts = (alerts, since) => replaceOpen("alerts", alerts, since);
export const replaceOpenIncidents = (incidents, since) => replaceOpen("incidents", incidents, since);

// Resolved items stay in view a little while, so the operator sees the action took effect.
// Returns whether any went.
export function pruneResolved(kind, keepMs = 30_000) {
  const now = performance.now();
  let pruned = false;
  for (const [id, item] of state[kind]) {
    if (item.state === "resolved" && now - (seenAt[kind].get(id) ?? 0) > keepMs) {
      state[kind].delete(id);
      seenAt[kind].delete(id);
      pruned = true;
    }
  }
  return pruned;
}

export function forgetAll() {
  for (const kind of ["alerts", "incidents"]) {
    state[kind].clear();
    seenAt[kind].clear();
  }
}

const isOpen = (item) => item.state !== "resolved";
export const waiting = (item) => item.state === "active_unack" || item.state === "returned_unack";
const waitingFire = (item) => item.class === "fire" && waiting(item);

// Newest first, except that a fire nobody has acknowledged stays on top (EN 54-2 gives fire
// indications priority): a burst of anything else must not push it out of sight.
function urgentThenNewest(at) {
  return (a, b) => waitingFire(b) - waitingFire(a) || (a[at] < b[at] ? 1 : a[at] > b[at] ? -1 : b.id - a.id);
}

export function sortedIncidents() {
  return [...state.incidents.values()]
    .filter((i) => !state.filter || i.class === state.filter)
    .sort(urgentThenNewest("opened_at"));
}

// Trouble (offline, battery, faults), roll-ups and suppressed alerts are in no incident: they
// are the technicians' list. A signal of an incident is reached through its incident.
export const inIncident = (alert) => alert.incident_id !== null && alert.incident_id !== undefined;

export function technicianAlerts() {
  return [...state.alerts.values()]
    .filter((a) => !inIncident(a) && (!state.filter || a.class === state.filter))
    .sort(urgentThenNewest("raised_at"));
}

// What the plan colours: the worst open class per device (its alerts, fresher than the
// overview), per building (its open incident, or its technicians' alerts), and each
// building's open incident.
export function liveClasses() {
  const byDevice = new Map();
  const byBuilding = new Map();
  const incidentAt = new Map();
  for (const a of state.alerts.values()) {
    if (!isOpen(a) || a.state === "suppressed") continue;
    if (a.device_id) byDevice.set(a.device_id, worstClass([byDevice.get(a.device_id), a.class]));
    if (a.building && !inIncident(a)) byBuilding.set(a.building, worstClass([byBuilding.get(a.building), a.class]));
  }
  for (const i of state.incidents.values()) {
    if (!isOpen(i) || !i.building) continue;
    byBuilding.set(i.building, worstClass([byBuilding.get(i.building), i.class]));
    const known = incidentAt.get(i.building);
    if (!known || worstClass([known.class, i.class]) !== known.class) incidentAt.set(i.building, i);
  }
  return { byDevice, byBuilding, incidentAt };
}

export function unackedFire() {
  for (const i of state.incidents.values()) if (waitingFire(i)) return true;
  return false;
}
