// Times on the wall are the site's (GET /api/v1/me names its zone), whatever the wall's own
// computer is set to: the people in the room read Beijing time.

import { lang } from "./text.js";

let zone = "Asia/Shanghai";

export function setSiteZone(timeZone) {
  zone = timeZone;
}

// "UTC+08:00" at that moment (a zone with summer time changes it).
function offsetAt(date) {
  const parts = new Intl.DateTimeFormat("en", { timeZone: zone, timeZoneName: "longOffset" }).formatToParts(date);
  const name = parts.find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  return name === "GMT" ? "UTC+00:00" : name.replace("GMT", "UTC");
}

function format(iso, options) {
  return new Intl.DateTimeFormat(lang(), { timeZone: zone, hour12: false, ...options }).format(new Date(iso));
}

export const hourMinute = (iso) => format(iso, { hour: "2-digit", minute: "2-digit" });
export const siteHour = (iso) => Number(format(iso, { hour: "numeric", hourCycle: "h23" }).replace(/\D/g, ""));
export const time = (iso) => format(iso, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

// The big clock: time, and the date with the weekday and the offset, so no one wonders which zone.
export function clockFace(now = new Date()) {
  return {
    time: time(now),
    date: `${format(now, { year: "numeric", month: "long", day: "numeric", weekday: "short" })} · ${offsetAt(now)}`,
    iso: now.toISOString(),
  };
}
