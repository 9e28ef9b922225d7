// The grid worker's page: the incident the link grants, and the steps to answer it. Offline
// first: the page itself comes from the service worker, the incident from the last copy kept
// on the phone, and every tap goes into an outbox (IndexedDB) that is sent in order whenever the
// network is back. Nothing is fetched from another host.

const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() ?? "");
const api = `/api/v1/field/${encodeURIComponent(token)}`;
const kept = `field:${token}`;
const ORDER = ["accept", "on_my_way", "arrived", "verdict"];
const RANK = { notifying: 0, accepted: 1, on_my_way: 2, arrived: 3, done: 4 };
const AFTER = { accept: "accepted", on_my_way: "on_my_way", arrived: "arrived", verdict: "done" };
const STAMP = { accept: "accepted_at", on_my_way: "on_my_way_at", arrived: "arrived_at", verdict: "verdict_at" };
const VERDICT_LABEL = { real_fire: "真实火灾", false_alarm: "误报", no_access: "无法进入" };
const RETRY_MS = 5000;

const $ = (id) => document.getElementById(id);
const timeFmt = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});

let view = null; // the server's last word
let queued = []; // steps in the outbox, not yet answered by the server
let flushing = false;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

// ---- the outbox -------------------------------------------------------------------------

function openOutbox() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("firewatch-field", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function outbox(mode, use) {
  const db = await openOutbox();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction("outbox", mode);
      const result = use(tx.objectStore("outbox"));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const add = (item) => outbox("readwrite", (store) => store.add({ ...item, token, at: Date.now() }));
const remove = (id) => outbox("readwrite", (store) => store.delete(id));
const pending = async () => (await outbox("readonly", (store) => store.getAll())).filter((i) => i.token === token);

// ---- talking to the server --------------------------------------------------------------

async function send(item) {
  if (item.kind === "photo") {
    return fetch(`${api}/photo`, { method: "POST", headers: { "Content-Type": item.type }, body: item.blob });
  }
  return fetch(`${api}/steps`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(item.body),
  });
}

async function detail(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body;
    if (Array.isArray(body.detail)) return { detail: body.detail.map((d) => d.msg).join("；") };
  } catch {
    // not JSON: the status says enough
  }
  return { detail: `${response.status} ${response.statusText}` };
}

// Sends the outbox in order. A network failure or a server error keeps the rest for later; any
// other answer is final for its item (done, refused or wrong), and the next one goes.
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    for (const item of await pending()) {
      let response;
      try {
        response = await send(item);
      } catch {
        offline(true);
        return;
      }
      offline(false);
      if (response.status >= 500) return;
      await remove(item.id);
      if (response.ok) {
        if (item.kind === "step") keep(await response.json());
        else say(`照片已发送（${Math.round(item.blob.size / 1024)} KB）`);
      } else if (response.status === 403) {
        refused(await detail(response));
      } else {
        say(`未能提交：${(await detail(response)).detail}`, true);
      }
    }
  } finally {
    flushing = false;
    queued = (await pending()).filter((i) => i.kind === "step").map((i) => i.body.step);
    render();
  }
}

async function load() {
  let response;
  try {
    response = await fetch(api, { cache: "no-store" });
  } catch {
    offline(true);
    const copy = localStorage.getItem(kept);
    if (copy) keep(JSON.parse(copy), { save: false });
    else $("incident").replaceChildren(el("p", "离线，且手机上没有这次派单的资料。联网后会自动加载。", "muted"));
    return;
  }
  offline(false);
  if (response.ok) keep(await response.json());
  else if (response.status === 403) refused(await detail(response));
  else say(`无法加载：${(await detail(response)).detail}`, true);
}

function keep(next, { save = true } = {}) {
  view = next;
  if (save) localStorage.setItem(kept, JSON.stringify(next));
  render();
}

function refused(body) {
  localStorage.removeItem(kept);
  view = null;
  const [title, ...text] = body.detail.split("：");
  $("refused-title").textContent = title;
  $("refused-text").textContent = text.join("：");
  $("refused").hidden = false;
  $("refused").dataset.reason = body.reason ?? "";
  for (const id of ["incident", "progress", "actions", "verdict", "done"]) $(id).hidden = true;
}

function offline(yes) {
  $("net").hidden = !yes;
}

function say(text, bad = false) {
  $("message").textContent = text;
  $("message").classList.toggle("bad", bad);
}

// ---- what the worker sees ----------------------------------------------------------------

// How far the dispatch is, counting the steps waiting in the outbox.
function stateNow() {
  let state = view.dispatch.state;
  for (const step of queued) if (RANK[AFTER[step]] > RANK[state]) state = AFTER[step];
  return state;
}

function renderIncident() {
  const { incident } = view;
  const box = $("incident");
  const head = el("h2", `${incident.class_label}${incident.confirmed ? "（多个设备确认）" : ""}`, `class-${incident.class}`);
  const facts = el("dl", undefined, "facts");
  const row = (name, value) => {
    if (value === null || value === undefined || value === "") return;
    facts.append(el("dt", name), value instanceof Node ? value : el("dd", value));
  };
  row("地点", incident.place);
  row("地址", incident.address ?? "未登记");
  if (incident.lat !== null && incident.lon !== null) {
    const dd = el("dd", `${incident.lat.toFixed(5)}, ${incident.lon.toFixed(5)} `);
    const map = el("a", "在地图中打开");
    map.href = `geo:${incident.lat},${incident.lon}`;
    dd.append(map);
    row("位置", dd);
  }
  const signals = el("dd");
  const list = el("ul", undefined, "signals");
  for (const s of incident.signals) list.append(el("li", `${s.device_id} · ${s.label}`, `class-${s.class}`));
  signals.append(list);
  row("信号", signals);
  row("事件编号", String(incident.id));
  box.replaceChildren(head, facts);
  if (incident.resolved) box.append(el("p", "值班员已将此事件结案。", "warn"));
  box.hidden = false;
}

function renderProgress(state) {
  const progress = $("progress");
  for (const li of progress.children) {
    const step = li.dataset.step;
    const at = view.dispatch[STAMP[step]];
    const reached = RANK[state] >= RANK[AFTER[step]];
    li.classList.toggle("reached", reached);
    li.classList.toggle("queued", reached && !at);
    li.querySelector("time").textContent = at ? timeFmt.format(new Date(at)) : reached ? "待发送" : "";
  }
  progress.hidden = false;
}

function render() {
  if (!view) return;
  $("refused").hidden = true;
  renderIncident();
  const state = stateNow();
  renderProgress(state);
  const { dispatch, incident } = view;
  const closed = incident.resolved || state === "done";
  const taken = dispatch.taken_by;
  $("title").textContent = `现场核查 · ${view.person.name}`;
  const next = ORDER.find((step) => RANK[AFTER[step]] > RANK[state]);
  for (const button of $("actions").querySelectorAll("button")) {
    button.hidden = button.dataset.step !== next && !(next === "on_my_way" && button.dataset.step === "arrived");
  }
  $("actions").hidden = closed || Boolean(taken) || next === "verdict";
  $("verdict").hidden = closed || Boolean(taken) || next !== "verdict";
  $("done").hidden = state !== "done";
  if (state === "done") {
    $("done-text").textContent = dispatch.verdict_at
      ? `结论：${VERDICT_LABEL[dispatch.verdict]}，${timeFmt.format(new Date(dispatch.verdict_at))} 已送达值班员。`
      : "结论已保存在手机上，联网后自动发送。";
  }
  if (taken) say(`这次派单已由${taken}接单，无需前往。`);
}

// ---- what the worker does ----------------------------------------------------------------

async function step(body) {
  await add({ kind: "step", body });
  queued.push(body.step);
  render();
  await flush();
}

function causes() {
  const verdict = new FormData($("verdict")).get("verdict");
  const select = $("verdict").elements.cause;
  const labels = verdict ? view.causes[verdict] : {};
  const options = Object.entries(labels).map(([value, label]) => {
    const option = el("option", label);
    option.value = value;
    return option;
  });
  if (verdict !== "false_alarm") {
    const none = el("option", "（不填）");
    none.value = "";
    options.unshift(none);
  }
  select.replaceChildren(...options);
  $("cause-label").hidden = !verdict;
  $("call-119").hidden = verdict !== "real_fire";
}

async function submitVerdict(event) {
  event.preventDefault();
  const form = new FormData($("verdict"));
  const verdict = form.get("verdict");
  if (!verdict) {
    say("请先选择结论。", true);
    return;
  }
  const photo = form.get("photo");
  if (photo && photo.size) {
    if (photo.size > view.photo_max_bytes) {
      say(`照片太大：最大 ${(view.photo_max_bytes / 2 ** 20).toFixed(1)} MB。`, true);
      return;
    }
    // Before the verdict: the verdict closes the dispatch, and its link with it.
    await add({ kind: "photo", type: photo.type || "image/jpeg", blob: photo });
  }
  const body = { step: "verdict", verdict };
  if (form.get("cause")) body.cause = form.get("cause");
  if (form.get("note").trim()) body.note = form.get("note").trim();
  await step(body);
}

function preview() {
  const file = $("verdict").elements.photo.files[0];
  const img = $("preview");
  if (img.src) URL.revokeObjectURL(img.src);
  img.hidden = !file;
  if (file) img.src = URL.createObjectURL(file);
}

function start() {
  for (const button of $("actions").querySelectorAll("button")) {
    button.addEventListener("click", () => step({ step: button.dataset.step }));
  }
  for (const radio of $("verdict").elements.verdict) radio.addEventListener("change", causes);
  $("verdict").addEventListener("submit", submitVerdict);
  $("verdict").elements.photo.addEventListener("change", preview);
  window.addEventListener("online", flush);
  setInterval(flush, RETRY_MS);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" }).catch(() => {});
  load().then(flush);
}

start();
