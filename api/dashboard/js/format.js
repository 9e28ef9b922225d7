// How times, ages, rules, numbers and places read in the views; the server speaks ISO 8601.

import { formatClock, formatTime, label, t } from "./i18n.js";

// A time of day on the site's clock, for lists; its full stamp with the offset is `stamp`.
export function clock(iso) {
  return iso ? formatClock(iso) : "—";
}

export function stamp(iso) {
  return formatTime(iso);
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return t("ago.seconds", { n: s });
  if (s < 3600) return t("ago.minutes", { n: Math.floor(s / 60) });
  if (s < 86400) return t("ago.hours", { n: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return t("ago.days", { n: Math.floor(s / 86400) });
}

// A duration in seconds, as an operator reads it.
export function duration(s) {
  if (s < 90) return t("duration.seconds", { n: Math.round(s) });
  if (s < 5400) return t("duration.minutes", { n: Math.round(s / 60) });
  return t("duration.hours", { n: (s / 3600).toFixed(1) });
}

export function humanRule(rule) {
  return label("rule", rule);
}

// "· from → to" for a log step that moved the state.
export function stateChange(step) {
  if (!step.to_state || step.from_state === step.to_state) return "";
  return ` · ${step.from_state ? label("state", step.from_state) : "—"} → ${label("state", step.to_state)}`;
}

// A log step's or an alert's detail for technicians, its times on the site's clock.
export function detailText(detail) {
  if (!Object.keys(detail ?? {}).length) return null;
  return JSON.stringify(detail, (key, value) =>
    (typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value) ? formatTime(value) : value));
}

export function number(value, digits = 1) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

// An incident is named by its place: a building, or the camera that saw a target outside every building.
export function incidentTitle(incident) {
  return incident.building
    ? t("place.building", { id: incident.building })
    : t("place.cameraOutside", { camera: incident.origin });
}
