// The wall's own words, Chinese first: one table per language with the same keys (a test checks
// both, and every key the wall uses). Words the wall shares with the console (classes, states,
// device states, ages, the timeline's) are the console's catalogue's, read with t() and label();
// the language is the console's too (i18n.js: remembered per browser, Chinese by default).

import { lang } from "/static/js/i18n.js";

const STRINGS = {
  "zh-CN": {
    "page.title": "消防监控大屏",
    "login.heading": "大屏登录",
    "login.label": "只读令牌（viewer）",
    "login.submit": "进入大屏",
    "login.hint": "请管理员创建只读令牌：firewatch users add 大屏 --role viewer",
    "login.bad": "令牌无效，请检查后重新输入。",
    "login.revoked": "令牌已失效（用户被停用或令牌已更换），请输入新的只读令牌。",
    "login.notViewer": "大屏只使用只读（viewer）令牌：这个令牌属于“{role}”角色，可以操作事件，不能留在无人值守的大屏上。",
    "login.unreachable": "无法连接服务器，{seconds} 秒后自动重试。",
    "link.down": "连接中断 · 正在重连",
    "link.updated": "数据更新于 {time}",
    "link.stale": "与服务器的连接已中断，正在自动重连。画面停留在 {time} 的数据。",
    "counters.label": "未结事件和故障（按类别）",
    "devices.label": "设备状态",
    "incidents.heading": "未结事件",
    "incidents.none": "没有未结事件",
    "incidents.more": "另有 {count} 起未显示",
    "tile.devices": "{count} 台设备",
    "tile.since": "{time} 起 · {ago}",
    "tile.handler": "处理人：{name}",
  },
  "en": {
    "page.title": "Fire-safety wall",
    "login.heading": "Wall sign-in",
    "login.label": "Viewer token",
    "login.submit": "Open the wall",
    "login.hint": "An admin creates a viewer token: firewatch users add wall --role viewer",
    "login.bad": "That token is not valid.",
    "login.revoked": "The token is no longer valid (its user was disabled or the token rotated); enter a new viewer token.",
    "login.notViewer": "The wall takes a viewer token only: this one is a {role}'s, which may act on incidents and must not stay on an unattended wall.",
    "login.unreachable": "Cannot reach the server; trying again in {seconds} s.",
    "link.down": "Connection lost · reconnecting",
    "link.updated": "Data as of {time}",
    "link.stale": "The connection to the server is lost and is being restored. The screen shows the data of {time}.",
    "counters.label": "Open incidents and trouble by class",
    "devices.label": "Devices",
    "incidents.heading": "Open incidents",
    "incidents.none": "No open incidents",
    "incidents.more": "{count} more not shown",
    "tile.devices": "Devices: {count}",
    "tile.since": "since {time} · {ago}",
    "tile.handler": "Handled by {name}",
  },
};

export function say(key, params = {}) {
  const text = STRINGS[lang()]?.[key] ?? STRINGS["zh-CN"][key];
  if (text === undefined) throw new Error(`no text for ${key}`);
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}
