// The wall's clock, on the site's time (GET /api/v1/me names its zone; i18n.js keeps it),
// whatever the wall's own computer is set to: the date with its weekday and the offset, so no
// one in the room wonders which zone it is.

import { formatClock, lang, siteOffset, timeZone } from "/static/js/i18n.js";

export function clockFace(now = new Date()) {
  const date = new Intl.DateTimeFormat(lang(), {
    timeZone: timeZone(), year: "numeric", month: "long", day: "numeric", weekday: "short",
  }).format(now);
  return { time: formatClock(now), date: `${date} · UTC${siteOffset(now)}`, iso: now.toISOString() };
}
