// The wall's words, Chinese first: one table per language with the same keys (a test checks
// both, and every key the wall uses). The language is the browser's remembered choice.

const STRINGS = {
  "zh-CN": {
    "title": "消防监控大屏",
    "login.heading": "大屏登录",
    "login.label": "只读令牌（viewer）",
    "login.submit": "进入大屏",
    "login.hint": "请管理员创建只读令牌：firewatch users add 大屏 --role viewer",
    "login.bad": "令牌无效，请检查后重新输入。",
    "login.revoked": "令牌已失效（用户被停用或令牌已更换），请输入新的只读令牌。",
    "login.notViewer": "大屏只使用只读（viewer）令牌：这个令牌属于“{role}”角色，可以操作事件，不能留在无人值守的大屏上。",
    "login.unreachable": "无法连接服务器，{seconds} 秒后自动重试。",
    "link.live": "实时",
    "link.connecting": "连接中",
    "link.down": "连接中断 · 正在重连",
    "updated": "数据更新于 {time}",
    "stale": "与服务器的连接已中断，正在自动重连。画面停留在 {time} 的数据。",
    "counters.label": "未处理事件和故障（按类别）",
    "devices.label": "设备状态",
    "devices.total": "设备",
    "devices.online": "在线",
    "devices.offline": "离线",
    "incidents.heading": "未处理事件",
    "incidents.none": "无未处理事件",
    "incidents.more": "另有 {count} 起未显示",
    "plan.heading": "平面图",
    "plan.none": "平面图：无未处理事件",
    "plan.marked": "平面图，未处理事件：{list}",
    "day.heading": "最近 24 小时",
    "day.none": "24 小时内无报警",
    "day.waiting": "等待数据…",
    "day.chart": "最近 24 小时每小时新增报警：{totals}",
    "flood": "警报泛滥：10 分钟内新增 {count} 起事件，先处理火警。",
    "class.fire": "火警",
    "class.prealarm": "预警",
    "class.supervisory": "监管",
    "class.trouble": "故障",
    "state.active_unack": "未应答",
    "state.returned_unack": "已恢复 · 未应答",
    "state.active_ack": "已应答",
    "state.shelved": "已搁置",
    "state.resolved": "已解除",
    "tile.confirmed": "多探测器确认",
    "tile.camera": "摄像机 {camera} · 建筑外",
    "tile.devices": "{count} 个设备",
    "tile.since": "{time} 起 · {ago}",
    "tile.handler": "处理人：{name}",
    "ago.seconds": "{count} 秒前",
    "ago.minutes": "{count} 分钟前",
    "ago.hours": "{hours} 小时 {minutes} 分钟前",
    "ago.days": "{count} 天前",
  },
  "en": {
    "title": "Fire-safety wall",
    "login.heading": "Wall sign-in",
    "login.label": "Viewer token",
    "login.submit": "Open the wall",
    "login.hint": "An admin creates a viewer token: firewatch users add wall --role viewer",
    "login.bad": "That token is not valid.",
    "login.revoked": "The token is no longer valid (its user was disabled or the token rotated); enter a new viewer token.",
    "login.notViewer": "The wall takes a viewer token only: this one is a {role}'s, which may act on incidents and must not stay on an unattended wall.",
    "login.unreachable": "Cannot reach the server; trying again in {seconds} s.",
    "link.live": "Live",
    "link.connecting": "Connecting",
    "link.down": "Connection lost · reconnecting",
    "updated": "Data as of {time}",
    "stale": "The connection to the server is lost and is being restored. The screen shows the data of {time}.",
    "counters.label": "Open incidents and trouble by class",
    "devices.label": "Devices",
    "devices.total": "Devices",
    "devices.online": "Online",
    "devices.offline": "Offline",
    "incidents.heading": "Open incidents",
    "incidents.none": "No open incidents",
    "incidents.more": "{count} more not shown",
    "plan.heading": "Site plan",
    "plan.none": "Site plan: no open incidents",
    "plan.marked": "Site plan, open incidents: {list}",
    "day.heading": "Last 24 hours",
    "day.none": "No alerts in 24 hours",
    "day.waiting": "Waiting for data…",
    "day.chart": "New alerts per hour over the last 24 hours: {totals}",
    "flood": "Alarm flood: {count} new incidents in 10 minutes. Deal with fire first.",
    "class.fire": "Fire",
    "class.prealarm": "Pre-alarm",
    "class.supervisory": "Supervisory",
    "class.trouble": "Trouble",
    "state.active_unack": "Unacknowledged",
    "state.returned_unack": "Returned · unacknowledged",
    "state.active_ack": "Acknowledged",
    "state.shelved": "Shelved",
    "state.resolved": "Resolved",
    "tile.confirmed": "Confirmed by two devices",
    "tile.camera": "Camera {camera} · outside the buildings",
    "tile.devices": "{count} devices",
    "tile.since": "since {time} · {ago}",
    "tile.handler": "Handled by {name}",
    "ago.seconds": "{count} s ago",
    "ago.minutes": "{count} min ago",
    "ago.hours": "{hours} h {minutes} min ago",
    "ago.days": "{count} d ago",
  },
};

export const LANGUAGES = Object.keys(STRINGS);

// The console's remembered choice (the same key), else Chinese.
export function lang() {
  const chosen = localStorage.getItem("firewatch.lang");
  return chosen in STRINGS ? chosen : "zh-CN";
}

export function say(key, params = {}) {
  const text = STRINGS[lang()][key] ?? STRINGS["zh-CN"][key];
  if (text === undefined) throw new Error(`no text for ${key}`);
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? `{${name}}`));
}

export function ago(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return say("ago.seconds", { count: s });
  if (s < 3600) return say("ago.minutes", { count: Math.floor(s / 60) });
  if (s < 86400) return say("ago.hours", { hours: Math.floor(s / 3600), minutes: Math.floor((s % 3600) / 60) });
  return say("ago.days", { count: Math.floor(s / 86400) });
}
