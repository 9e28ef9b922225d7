// Wires the dashboard together: log-in, loading, the live stream, and redrawing on change.

import { ApiError, getJson, whenUnauthorized } from "./api.js";
import { me } from "./actions.js";
import { callOf } from "./calls.js";
import {
  loadAlerts, loadDevices, loadFootprints, loadIncidents, loadOverview, loadStreets, openShiftReport, planBuildings,
} from "./data.js";
import { openAlert, refreshOpenAlert } from "./alert-drawer.js";
import { openBuilding } from "./building-drawer.js";
import { openDevice } from "./device-drawer.js";
import { closeDrawer } from "./drawer.js";
import { renderConnection, renderFilters, renderSound, wireSound } from "./header.js";
import { LANGUAGES, lang, setLang, setTimeZone, siteOffset, t, translatePage } from "./i18n.js";
import { openIncident, refreshOpenIncident } from "./incident-drawer.js";
import { markArrived, refreshAges, renderLiveList, wireTabs } from "./live-list.js";
import { session } from "./session.js";
import { SitePlan } from "./siteplan.js";
import {
  changed, forgetAll, inIncident, liveClasses, patchSignal, pruneResolved, state, subscribe, unackedFire,
  upsertAlert, upsertIncident,
} from "./state.js";
import { renderStatus } from "./status-panel.js";
import { LiveStream } from "./stream.js";
import { drawTimeline } from "./timeline.js";
import { toast } from "./toast.js";
import { Sounder } from "./tone.js";

const OVERVIEW_EVERY_MS = 15_000;
const OVERVIEW_AFTER_EVENT_MS = 2_000;

const $ = (id) => document.getElementById(id);
const sounder = new Sounder();
const timers = [];
let stream = null;
let overviewSoon = null;

const plan = new SitePlan($("plan"), {
  onBuilding: (b) => {
    openBuilding(b);
    plan.selected = { building: b.id };
    plan.focus(b.id);
  },
  onDevice: (d) => {
    plan.selected = { device: d.id };
    openDevice(d.id);
    plan.draw();
  },
});

function drawPlan() {
  plan.setData({ buildings: planBuildings(), devices: [...state.devices.values()], live: liveClasses(), streets: state.streets });
}

// The fire tone sounds while a fire incident waits for acknowledgement; the button shows it.
function soundFire() {
  sounder.fire(unackedFire());
  renderSound(sounder);
}

const listHandlers = {
  onIncident: (incident) => openIncident(incident.id),
  onSignal: (signal) => openAlert(signal.alert_id),
  onAlert: (alert) => openAlert(alert.id),
};

subscribe((what) => {
  if (["incidents", "alerts", "filter", "tab"].includes(what)) {
    renderLiveList(listHandlers);
    renderFilters();
    soundFire();
  }
  if (["incidents", "alerts", "devices", "overview"].includes(what)) drawPlan();
  if (what === "overview") {
    drawTimeline($("timeline"), state.overview.timeline);
    renderStatus(state.overview, { onDevice: openDevice });
  }
});

// The timeline and the buildings' states follow soon after an event: one request per burst.
function overviewSoonAfter() {
  overviewSoon ??= setTimeout(() => {
    overviewSoon = null;
    refresh(loadOverview);
  }, OVERVIEW_AFTER_EVENT_MS);
}

function onAlertEvent({ alert, change }) {
  // An alert resolved before we ever saw it is no news.
  if (alert.state === "resolved" && !state.alerts.has(alert.id)) return;
  if (!upsertAlert(alert)) return;
  if (inIncident(alert)) {
    if (patchSignal(alert)) changed("incidents");
  } else if (change === "raise") {
    // A signal of an incident calls through its incident; trouble and roll-ups chime themselves.
    sounder.chime(alert.class);
    markArrived("alerts", alert.id);
  }
  changed("alerts");
  refreshOpenAlert(alert.id);
  overviewSoonAfter();
}

// An incident calls the operator when it opens, rises, is confirmed or comes back unacknowledged:
// fire sounds until acknowledged (soundFire), lesser classes chime once.
function onIncidentEvent({ incident }) {
  if (incident.state === "resolved" && !state.incidents.has(incident.id)) return;
  const before = state.incidents.get(incident.id);
  if (!upsertIncident(incident)) return;
  const call = callOf(before, incident);
  if (call) {
    markArrived("incidents", incident.id);
    if (call !== "fire") sounder.chime(call);
  }
  changed("incidents");
  refreshOpenIncident(incident.id);
  overviewSoonAfter();
}

const EVENTS = { alert: onAlertEvent, incident: onIncidentEvent };

function reloadLists() {
  refresh(loadIncidents);
  refresh(loadAlerts);
}

async function refresh(loader) {
  try {
    await loader();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.warn(loader.name, error);
  }
}

function showLogin(message = "") {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message;
  $("token").focus();
}

function stop() {
  stream?.stop();
  stream = null;
  timers.splice(0).forEach(clearInterval);
  clearTimeout(overviewSoon);
  overviewSoon = null;
  sounder.fire(false);
  renderSound(sounder);
  closeDrawer();
  forgetAll();
}

function signOut(message) {
  stop();
  session.token = null;
  showLogin(message);
}

// Who we are and the site's clock, before anything is shown: every time is on the site's clock.
async function signIn() {
  const who = await getJson("/api/v1/me");
  me.name = who.name;
  setTimeZone(who.site_timezone);
  $("who").textContent = t("top.who", { name: who.name });
  $("site-clock").textContent = t("top.zone", { offset: siteOffset() });
  $("site-clock").title = who.site_timezone;
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  let opened = false;
  stream = new LiveStream({
    url: "/api/v1/alerts/stream",
    onEvent: (name, event) => EVENTS[name](event),
    onReset: reloadLists,
    onStatus: (status, text) => renderConnection(status, text),
    // Replay covers the gap, but a reload also catches what fell out of the replay window.
    onOpen: () => (opened ? reloadLists() : (opened = true)),
    onUnauthorized: () => signOut(t("login.expired")),
  });
  stream.start();
  renderConnection("connecting", t("conn.connecting"));
  reloadLists();
  // The overview names this deployment's site; the plan shows only its devices.
  refresh(async function loadOverviewThenDevices() {
    await loadOverview();
    await loadDevices(state.overview.site);
  });
  refresh(loadFootprints);
  refresh(loadStreets);
  timers.push(
    setInterval(() => refresh(loadOverview), OVERVIEW_EVERY_MS),
    setInterval(refreshAges, 5_000),
    setInterval(() => {
      for (const kind of ["incidents", "alerts"]) if (pruneResolved(kind)) changed(kind);
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

async function begin() {
  try {
    await signIn();
    $("token").value = "";
    start();
  } catch (error) {
    session.token = null;
    showLogin(error instanceof ApiError && error.status === 401 ? t("login.invalid") : t("login.unreachable", { error: error.message }));
  }
}

whenUnauthorized(() => signOut(t("login.expired")));

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  session.token = $("token").value.trim();
  begin();
});
$("logout").addEventListener("click", () => signOut(""));
$("drawer-close").addEventListener("click", () => {
  closeDrawer();
  plan.selected = null;
  plan.draw();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("action-dialog").open) $("drawer-close").click();
});
$("plan-fit").addEventListener("click", () => plan.reset());
$("report-link").addEventListener("click", async (event) => {
  event.preventDefault();
  const win = window.open("", "_blank"); // opened inside the click, so no pop-up blocker stops it
  try {
    await openShiftReport(Number($("report-hours").value), win);
  } catch (error) {
    win?.close();
    toast(t("toast.report", { error: error.message }));
  }
});
window.addEventListener("online", () => stream?.kick());
window.addEventListener("offline", () => stream?.kick());
window.addEventListener("resize", () => {
  plan.draw();
  if (state.overview) drawTimeline($("timeline"), state.overview.timeline);
});
// The other language, named in itself; the page reloads in it (the token survives a reload).
for (const button of document.querySelectorAll("[data-lang-switch]")) {
  const other = LANGUAGES.find((code) => code !== lang());
  button.lang = other;
  button.textContent = t("lang.switch");
  button.addEventListener("click", () => {
    setLang(other);
    location.reload();
  });
}

translatePage();
wireSound(sounder, soundFire);
wireTabs();

if (session.token) begin();
else showLogin();
