// Units of a rule's peak and of each metric, for labels.

import { label } from "./i18n.js";

const METRIC_UNITS = {
  obscuration_pct_per_m: "%/m",
  temperature_c: "°C",
  residual_current_ma: "mA",
  cable_temp_c: "°C",
  current_a: "A",
  voltage_v: "V",
  max_temp_c: "°C",
  avg_temp_c: "°C",
  min_temp_c: "°C",
  frame_max_temp_c: "°C",
  frame_avg_temp_c: "°C",
  frame_min_temp_c: "°C",
  battery_pct: "%",
  rssi_dbm: "dBm",
};

// The metrics worth a chart, per device kind, most telling first.
export const KIND_METRICS = {
  smoke: ["obscuration_pct_per_m", "temperature_c"],
  electrical: ["residual_current_ma", "cable_temp_c", "current_a", "voltage_v"],
  thermal_camera: ["frame_max_temp_c", "max_temp_c", "avg_temp_c"],
};

export function metricLabel(metric) {
  const unit = metricUnit(metric);
  return `${label("metric", metric)}${unit ? ` (${unit})` : ""}`;
}

export function metricUnit(metric) {
  return METRIC_UNITS[metric] ?? "";
}

export function peakUnit(rule) {
  if (rule.startsWith("smoke")) return "%/m";
  if (rule.startsWith("leakage")) return " mA";
  if (rule === "low_battery") return " %";
  if (rule === "camera_growth") return " px";
  if (rule.startsWith("heat") || rule.startsWith("cable") || rule.startsWith("camera")) return " °C";
  return "";
}
