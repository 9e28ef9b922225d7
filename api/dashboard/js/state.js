// The dashboard's one state object. Views subscribe; nothing else holds a copy of the data.

import { worstClass } from "./classes.js";

const listeners = new Set();

export const state = {
  alerts: new Map(), // id -> AlertRead, open ones plus the recently resolved
  overview: null,
  devices: new Map(), // id -> device
  filter: null, // a class, or null for all
  selected: null, // { device } or { alert, device }
  connection: { status: "connecting", text: "connecting" },
};

export function subscribe(listener) {
  listeners.add(listener);
}

export function changed(what) {
  for (const listener of listeners) listener(what);
}

const seenAt = new Map(); // id -> performance.now() when the stream last brought it

// A stream event and a list reload may arrive in either order: the newer version wins.
export function upsertAlert(alert) {
  const known = state.alerts.get(alert.id);
  if (known && known.updated_at > alert.updated_at) return false;
  state.alerts.set(alert.id, alert);
  seenAt.set(alert.id, performance.now());
  return true;
}

// The open list read since `since` (a performance.now()), merged with what the stream brought
// while it was being read.
export function replaceOpenAlerts(alerts, since) {
  const fresh = new Map(alerts.map((a) => [a.id, a]));
  for (const [id, known] of state.alerts) {
    const listed = fresh.get(id);
    if (listed ? known.updated_at > listed.updated_at : (seenAt.get(id) ?? -1) >= since) fresh.set(id, known);
  }
  state.alerts = fresh;
}

// Resolved alerts stay in view a little while, so the operator sees the action took effect.
export function pruneResolved(keepMs = 30_000) {
  const now = performance.now();
  let pruned = false;
  for (const [id, a] of state.alerts) {
    if (a.state === "resolved" && now - (seenAt.get(id) ?? 0) > keepMs) {
      state.alerts.delete(id);
      seenAt.delete(id);
      pruned = true;
    }
  }
  return pruned;
}

const waitingFire = (a) => a.class === "fire" && (a.state === "active_unack" || a.state === "returned_unack");

// Newest first, except that a fire alarm nobody has acknowledged stays on top (EN 54-2 gives
// fire indications priority): a burst of trouble must not push it out of sight.
export function sortedAlerts() {
  return [...state.alerts.values()]
    .filter((a) => !state.filter || a.class === state.filter)
    .sort((a, b) => waitingFire(b) - waitingFire(a)
      || (a.raised_at < b.raised_at ? 1 : a.raised_at > b.raised_at ? -1 : b.id - a.id));
}

// The worst open class per device and per building, from the live list (fresher than the overview).
export function liveClasses() {
  const byDevice = new Map();
  const byBuilding = new Map();
  for (const a of state.alerts.values()) {
    if (a.state === "resolved" || a.state === "suppressed") continue;
    if (a.device_id) byDevice.set(a.device_id, worstClass([byDevice.get(a.device_id), a.class]));
    if (a.building) byBuilding.set(a.building, worstClass([byBuilding.get(a.building), a.class]));
  }
  return { byDevice, byBuilding };
}

export function unackedFire() {
  for (const a of state.alerts.values()) if (waitingFire(a)) return true;
  return false;
}
