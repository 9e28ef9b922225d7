// The wall display: signs in once with a viewer token, then shows the quarter by itself for
// as long as it runs. The console's modules load the data and keep the live stream (which
// reconnects and replays what it missed); this page only draws, and never acts.

import { ApiError, getJson, whenUnauthorized } from "/static/js/api.js";
import { loadAlerts, loadFootprints, loadIncidents, loadOverview, loadStreets, planBuildings } from "/static/js/data.js";
import { formatClock, lang, setTimeZone, t } from "/static/js/i18n.js";
import { SitePlan } from "/static/js/siteplan.js";
import {
  changed, forgetAll, inIncident, liveClasses, patchSignal, pruneResolved, state, subscribe, unackedFire,
  upsertAlert, upsertIncident,
} from "/static/js/state.js";
import { LiveStream } from "/static/js/stream.js";
import { renderCounters, renderDevices } from "./counters.js";
import { drawDay } from "./day-chart.js";
import { renderPlanLabels } from "./plan-labels.js";
import { clockFace } from "./site-time.js";
import { say } from "./text.js";
import { refreshAges, renderTiles } from "./tiles.js";
import { session } from "/static/js/session.js";
import { dropToken, keepToken, storedToken, tokenFromLink } from "./token.js";

const OVERVIEW_EVERY_MS = 15_000;
const OVERVIEW_AFTER_EVENT_MS = 2_000;
const NAMES_EVERY_MS = 10 * 60_000;
const BUILDING_PAGE = 1000;
const RETRY_MS = 10_000;

const $ = (id) => document.getElementById(id);
const names = new Map(); // building id -> its name, for the tiles and the plan
const timers = [];
let stream = null;
let overviewSoon = null;
let lastData = null; // when the screen last had fresh data (a Date)
let retry = null;

// The wall never zooms or clicks: the plan stays fitted to the quarter.
const plan = new SitePlan($("plan"), { onBuilding: () => {}, onDevice: () => {} });

// Every text of the page itself: data-say names the wall's words, data-i18n the console's.
function renderStatic() {
  document.documentElement.lang = lang();
  document.title = say("page.title");
  for (const el of document.querySelectorAll("[data-say]")) el.textContent = say(el.dataset.say);
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-say-label]")) el.setAttribute("aria-label", say(el.dataset.sayLabel));
}

function drawPlan() {
  const live = liveClasses();
  plan.setData({ buildings: planBuildings(), devices: [], live, streets: state.streets });
  renderPlanLabels($("plan-labels"), $("plan-leaders"), plan, live.incidentAt, names);
}

let listed = false; // the open incidents were read once: "none open" is then true, not unknown
const drawTiles = () => renderTiles($("tiles"), $("tiles-empty"), [...state.incidents.values()], names, listed);

// A banner (flood, lost link) or the window takes room from the panels: fit them again.
new ResizeObserver(drawTiles).observe($("tiles"));
new ResizeObserver(() => drawPlan()).observe($("plan-labels"));
new ResizeObserver(() => state.overview && drawDay($("day"), $("day-empty"), $("day-totals"), state.overview.timeline))
  .observe($("day"));

function drawAll() {
  drawTiles();
  renderCounters($("counters"));
  drawPlan();
}

subscribe((what) => {
  if (what === "incidents" || what === "alerts") {
    drawTiles();
    renderCounters($("counters"));
  }
  if (["incidents", "alerts", "overview", "devices"].includes(what)) drawPlan();
  if (what === "overview") {
    renderDevices($("devices"), state.overview);
    drawDay($("day"), $("day-empty"), $("day-totals"), state.overview.timeline);
    const rate = state.overview.alarm_rate ?? {};
    $("flood").hidden = !rate.flood;
    $("flood").textContent = rate.flood ? t("status.flood", { n: rate.incidents_last_10min }) : "";
    fresh();
  }
});

// When the server last answered (an overview, at least every 15 s, or an event); the stale
// banner names it while the link is down.
function fresh() {
  lastData = new Date();
  $("updated").textContent = say("link.updated", { time: formatClock(lastData) });
}

function renderLink(status) {
  const link = $("link");
  link.dataset.status = status;
  link.textContent = status === "live" ? t("conn.live") : status === "down" ? say("link.down") : t("conn.connecting");
  $("stale").hidden = status !== "down";
  $("stale").textContent = status === "down" ? say("link.stale", { time: formatClock(lastData) }) : "";
}

async function refresh(loader) {
  try {
    await loader();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.warn(loader.name, error);
  }
}

async function loadNames() {
  for (let offset = 0; ; offset += BUILDING_PAGE) {
    const page = await getJson(`/api/v1/buildings?limit=${BUILDING_PAGE}&offset=${offset}`);
    for (const b of page.items) if (b.name) names.set(b.id, b.name);
    if (page.items.length < BUILDING_PAGE || offset + BUILDING_PAGE >= page.total) break;
  }
  drawAll();
}

function reloadLists() {
  refresh(async function loadOpenIncidents() {
    await loadIncidents();
    listed = true;
    drawTiles();
  });
  refresh(loadAlerts);
}

function overviewSoonAfter() {
  overviewSoon ??= setTimeout(() => {
    overviewSoon = null;
    refresh(loadOverview);
  }, OVERVIEW_AFTER_EVENT_MS);
}

function onAlert({ alert }) {
  if (alert.state === "resolved" && !state.alerts.has(alert.id)) return;
  if (!upsertAlert(alert)) return;
  if (inIncident(alert) && patchSignal(alert)) changed("incidents");
  changed("alerts");
  fresh();
  overviewSoonAfter();
}

function onIncident({ incident }) {
  if (incident.state === "resolved" && !state.incidents.has(incident.id)) return;
  if (!upsertIncident(incident)) return;
  changed("incidents");
  fresh();
  overviewSoonAfter();
}

const EVENTS = { alert: onAlert, incident: onIncident };

function tick() {
  const face = clockFace();
  $("clock-time").textContent = face.time;
  $("clock-time").setAttribute("datetime", face.iso);
  $("clock-date").textContent = face.date;
}

function start() {
  $("login").hidden = true;
  $("screen").hidden = false;
  let opened = false;
  stream = new LiveStream({
    url: "/api/v1/alerts/stream",
    onEvent: (name, event) => EVENTS[name](event),
    onReset: reloadLists,
    onStatus: (status) => renderLink(status),
    // Replay covers a short gap; a reload also catches what fell out of the replay window.
    onOpen: () => (opened ? reloadLists() : (opened = true)),
    onUnauthorized: () => signOut(say("login.revoked")),
  });
  stream.start();
  renderLink("connecting");
  reloadLists();
  refresh(loadOverview);
  refresh(loadNames);
  refresh(loadFootprints);
  refresh(loadStreets);
  tick();
  timers.push(
    setInterval(tick, 1_000),
    setInterval(() => refresh(loadOverview), OVERVIEW_EVERY_MS),
    setInterval(() => {
      refresh(loadNames);
      refresh(loadFootprints);
    }, NAMES_EVERY_MS),
    setInterval(() => {
      refreshAges($("tiles"));
      for (const kind of ["incidents", "alerts"]) if (pruneResolved(kind, 5_000)) changed(kind);
    }, 5_000),
    setInterval(() => {
      // Buildings on fire blink while a fire incident waits for acknowledgement.
      const blink = unackedFire() && !matchMedia("(prefers-reduced-motion: reduce)").matches && !plan.blink;
      if (blink !== plan.blink) {
        plan.blink = blink;
        plan.draw();
      }
    }, 600),
  );
}

function stop() {
  stream?.stop();
  stream = null;
  timers.splice(0).forEach(clearInterval);
  clearTimeout(overviewSoon);
  overviewSoon = null;
  forgetAll();
  listed = false;
}

function showLogin(message = "") {
  $("screen").hidden = true;
  $("login").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message;
  $("token").focus();
}

function signOut(message) {
  stop();
  dropToken();
  showLogin(message);
}

// The wall checks its token's role before it shows anything: a token that may act must not
// sit in an unattended browser. A server that cannot be reached is tried again, for ever.
async function begin(token) {
  clearTimeout(retry);
  session.token = token; // kept in the browser only once it proved to be a viewer's
  try {
    const me = await getJson("/api/v1/me");
    if (me.role !== "viewer") return signOut(say("login.notViewer", { role: me.role }));
    keepToken(token);
    setTimeZone(me.site_timezone);
    $("site").textContent = me.site;
    start();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signOut(say("login.bad"));
    showLogin(say("login.unreachable", { seconds: RETRY_MS / 1000 }));
    retry = setTimeout(() => begin(token), RETRY_MS);
  }
}

whenUnauthorized(() => signOut(say("login.revoked")));

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  $("token").value = "";
  if (token) begin(token);
});
// A token given in the address later (the kiosk's link opened again) replaces the one kept.
window.addEventListener("hashchange", () => {
  const given = tokenFromLink();
  if (given) {
    stop();
    begin(given);
  }
});
window.addEventListener("online", () => stream?.kick());

renderStatic();
const token = tokenFromLink() ?? storedToken();
if (token) begin(token);
else showLogin();
