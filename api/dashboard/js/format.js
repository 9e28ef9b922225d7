// Times are shown in the control centre's local time; the server speaks UTC ISO 8601.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});

export function clock(iso) {
  return iso ? timeFmt.format(new Date(iso)) : "—";
}

export function stamp(iso) {
  return iso ? dateTimeFmt.format(new Date(iso)) : "—";
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function humanRule(rule) {
  return rule.replaceAll("_", " ");
}

export function number(value, digits = 1) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

// An incident is named by its place: a building, or the camera that saw a target outside every building.
export function incidentTitle(incident) {
  return incident.building ? `Building ${incident.building}` : `Camera ${incident.origin} · outside the buildings`;
}
