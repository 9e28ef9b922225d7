// Open incidents as large tiles, the most urgent first: class (fire, pre-alarm, supervisory),
// then waiting for acknowledgement, then the newest. As many as fit; the rest are counted on a
// last tile, so nothing on the wall is ever cut off.

import { classLabel, stateLabel } from "/static/js/classes.js";
import { h } from "/static/js/dom.js";
import { ago } from "/static/js/format.js";
import { formatClock, t } from "/static/js/i18n.js";
import { waiting } from "/static/js/state.js";
import { say } from "./text.js";

const RANK = { fire: 0, prealarm: 1, supervisory: 2 };
const since = (iso) => formatClock(iso, { seconds: false });

export function byUrgency(a, b) {
  return (RANK[a.class] ?? 9) - (RANK[b.class] ?? 9)
    || waiting(b) - waiting(a)
    || (a.opened_at < b.opened_at ? 1 : a.opened_at > b.opened_at ? -1 : b.id - a.id);
}

// Where it is: the building's name (its id if it has none), or the camera that saw it outside.
export function placeOf(incident, names) {
  if (!incident.building) return t("place.cameraOutside", { camera: incident.origin ?? "?" });
  return names.get(incident.building) || incident.building;
}

function tile(incident, names) {
  const place = placeOf(incident, names);
  const devices = incident.counts?.devices;
  return h("li", {
    class: `tile ${incident.class} ${incident.state}`,
    dataset: {
      id: incident.id, class: incident.class, state: incident.state,
      building: incident.building ?? "", confirmed: String(Boolean(incident.confirmed)),
    },
  },
    h("div", { class: "tile-head" },
      h("span", { class: "tile-class" }, classLabel(incident.class)),
      h("span", { class: "tile-place" }, place),
      incident.building && place !== incident.building && h("span", { class: "tile-id" }, incident.building)),
    h("div", { class: "tile-facts" },
      h("span", { class: "tile-state", "data-role": "state" }, stateLabel(incident.state)),
      incident.confirmed && h("span", { class: "tile-confirmed", "data-role": "confirmed" }, t("card.confirmed")),
      devices > 0 && h("span", {}, say("tile.devices", { count: devices }))),
    h("div", { class: "tile-facts" },
      h("span", { "data-role": "since", dataset: { t: incident.opened_at } },
        say("tile.since", { time: since(incident.opened_at), ago: ago(incident.opened_at) })),
      incident.claimed_by && h("span", { "data-role": "handler" }, say("tile.handler", { name: incident.claimed_by }))),
  );
}

const moreTile = (count) => h("li", { class: "tile tile-more", "data-role": "more" }, say("incidents.more", { count }));

function overflowing(list) {
  const bottom = list.getBoundingClientRect().bottom + 0.5;
  return [...list.children].some((el) => el.getBoundingClientRect().bottom > bottom);
}

export function renderTiles(list, empty, incidents, names, listed) {
  const open = incidents.filter((i) => i.state !== "resolved").sort(byUrgency);
  const tiles = open.map((i) => tile(i, names));
  empty.hidden = open.length > 0 || !listed;
  list.replaceChildren(...tiles);
  list.dataset.total = String(open.length);
  for (let shown = tiles.length - 1; shown >= 0 && overflowing(list); shown -= 1) {
    list.replaceChildren(...tiles.slice(0, shown), moreTile(open.length - shown));
  }
  list.dataset.shown = String(list.querySelectorAll(".tile:not(.tile-more)").length);
}

// The "… ago" on every tile, between redraws.
export function refreshAges(list) {
  for (const el of list.querySelectorAll("[data-role=since]")) {
    el.textContent = say("tile.since", { time: since(el.dataset.t), ago: ago(el.dataset.t) });
  }
}
