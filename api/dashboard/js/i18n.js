// The console's words and clock. Operators in Guangzhou read Chinese first; English is one click
// away and remembered per browser. Times are the site's wall clock (its zone comes from
// /api/v1/me), written with their offset so nobody mistakes them for UTC or the PC's own zone.

import en from "./i18n/en.js";
import zhCN from "./i18n/zh-CN.js";

const CATALOGUES = { "zh-CN": zhCN, en };
export const LANGUAGES = Object.keys(CATALOGUES);
const DEFAULT_LANG = "zh-CN";
const STORED = "firewatch.lang";

let current = LANGUAGES.includes(localStorage.getItem(STORED)) ? localStorage.getItem(STORED) : DEFAULT_LANG;
let zone = "UTC"; // until /api/v1/me names the site's zone
const missing = new Set();

export function lang() {
  return current;
}

export function setLang(code) {
  if (!LANGUAGES.includes(code)) throw new Error(`no catalogue for ${code}`);
  localStorage.setItem(STORED, code);
  current = code;
  document.documentElement.lang = code;
}

// A catalogue entry is a text or, where a count changes the words, { one, other }.
export function t(key, params = {}) {
  let text = CATALOGUES[current][key];
  if (text === undefined) {
    missing.add(key);
    return key;
  }
  if (typeof text === "object") text = text[new Intl.PluralRules(current).select(params.n ?? 0)] ?? text.other;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// A code's label (a rule, a state, a cause, …): the catalogue's, or the code itself for one a
// newer server sends that this console does not know yet.
export function label(group, code) {
  if (code === null || code === undefined) return "";
  const key = `${group}.${code}`;
  return key in CATALOGUES[current] ? t(key) : String(code).replaceAll("_", " ");
}

// Keys asked for and absent: the browser tests fail on any.
export function missingKeys() {
  return [...missing];
}

// The elements of the page itself: data-i18n names the text's key, data-i18n-attr
// "attribute:key;…" its attributes'.
export function translatePage(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

export function setTimeZone(name) {
  zone = name;
  formatters.clear();
}

export function timeZone() {
  return zone;
}

const formatters = new Map();

function partsOf(date, withZone) {
  const key = String(withZone);
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.DateTimeFormat("en-US", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
      ...(withZone ? { timeZoneName: "longOffset" } : {}),
    }));
  }
  return Object.fromEntries(formatters.get(key).formatToParts(date).map((p) => [p.type, p.value]));
}

// "GMT+08:00" as ISO 8601 writes it, "+08:00"; UTC itself is "GMT".
function offsetOf(name) {
  const offset = name.replace("GMT", "");
  return offset || "+00:00";
}

// The site's wall clock with its offset: 2026-12-05 00:08:21 +08:00.
export function formatTime(iso) {
  if (!iso) return "—";
  const p = partsOf(new Date(iso), true);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${offsetOf(p.timeZoneName)}`;
}

// The site's time of day: 00:08:21, or 00:08 without seconds.
export function formatClock(when, { seconds = true } = {}) {
  if (when === null || when === undefined || when === "") return "—";
  const p = partsOf(new Date(when), false);
  return seconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
}

// The site's date: 12-05.
export function formatDay(when) {
  const p = partsOf(new Date(when), false);
  return `${p.month}-${p.day}`;
}

// The site's offset now: +08:00.
export function siteOffset(when = Date.now()) {
  return offsetOf(partsOf(new Date(when), true).timeZoneName);
}

// The same in milliseconds east of UTC, for aligning chart ticks on the site's clock.
export function siteOffsetMs(when = Date.now()) {
  const [, sign, hours, minutes] = /([+-])(\d\d):(\d\d)/.exec(siteOffset(when));
  return (sign === "-" ? -1 : 1) * (Number(hours) * 60 + Number(minutes)) * 60_000;
}
