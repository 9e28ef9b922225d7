"""The printed reports' words, one table per language, so the shift and monthly pages say the
same thing the same way in Chinese (the default, the centre's files) and in English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from api.local_time import ZONE_ZH, utc_offset
from dispatch.messages import CLASS_ZH, RULE_ZH
from dispatch.steps import CAUSES

NONE = "\N{EN DASH}"


class Lang(StrEnum):
    """The languages a printed report comes in, as ``<html lang>`` writes them."""

    ZH = "zh-CN"
    EN = "en"


# The verdict columns' order, the same in every language.
VERDICTS = ("real_fire", "false_alarm", "test", "maintenance", "other", "no_access", "unjudged")


@dataclass(frozen=True, kw_only=True)
class Words:
    """One language: phrases (``str.format`` templates), table headers, and labels for codes,
    by what the code names. A code without a label is shown as it is."""

    phrases: dict[str, str]
    columns: dict[str, tuple[str, ...]]
    labels: dict[str, dict[str, str]]
    units: tuple[str, str, str]
    zones: dict[str, str]

    def say(self, key: str, **values: Any) -> str:
        return self.phrases[key].format(**values)

    def label(self, table: str, code: str) -> str:
        return self.labels[table].get(code, code)

    def duration(self, seconds: float | None) -> str:
        """``95`` as 1分35秒 or 1 min 35 s; hours and minutes only when there are some."""
        if seconds is None:
            return NONE
        hours, rest = divmod(round(seconds), 3600)
        minutes, secs = divmod(rest, 60)
        h, m, s = self.units
        parts = [h.format(hours) if hours else "", m.format(minutes) if hours or minutes else ""]
        return "".join(parts) + s.format(secs)

    def zone(self, name: str, at: datetime) -> str:
        """The zone's name in this language where it has one, and its offset at ``at``."""
        return f"{self.zones.get(name, name)} UTC{utc_offset(at)}"


def ratio(value: float | None) -> str:
    return NONE if value is None else f"{value:.1%}"


_ZH = Words(
    phrases={
        "none": "无",
        "sep": "，",
        "colon": "：",
        "span": "{start} 至 {end}（{zone}）",
        "in_camera": "摄像机 {camera} 画面中",
        "named_place": "{name}（{building}）",
        "yes": "是",
        "no": "否",
        "verdicts": "误报率 {ratio}（处理结论：{found}）",
        "shift_title": "{site} 值班报告",
        "shift_span": "值班时段：{span}",
        "shift_incidents": "新增事件 {total} 起，其中多设备确认火警 {confirmed} 起；{verdicts}。",
        "shift_signals": "新增信号（报警）{total} 条，升级 {escalated} 条；{verdicts}。",
        "incident_times": "事件及响应时间",
        "incident_handover": "待交接的未结事件",
        "signal_times": "信号（报警）及响应时间",
        "signal_handover": "待交接的未结信号",
        "offline": "离线设备（{count} 台）",
        "noisiest": "报警最多的设备",
        "month_title": "{site} 消防监控月度报告：{month}",
        "month_span": "统计时段：{span}",
        "summary": "概况",
        "month_incidents": "事件 {total} 起，其中多设备确认火警 {confirmed} 起",
        "month_dispatches": "派单 {total} 次（自动 {automatic}，值班员 {by_operator}），"
        "网格员到场 {arrived} 次",
        "month_fires": "处置真实火情 {count} 起，确认拨打119 {called} 起",
        "month_false": "误报率 {ratio}（已定性的火警和预警 {judged} 起，其中误报 {false} 起）",
        "by_class": "事件：按类别和结论",
        "incident_causes": "原因（网格员现场结论）：",
        "dispatches": "派单",
        "dispatch_causes": "现场结论：",
        "response": "响应时间（自事件产生起）",
        "fires": "真实火情（{count} 起）",
        "false_by_model": "误报率：按设备型号",
        "false_by_building": "误报率：按建筑",
        "unregistered": "未登记",
        "called": "已拨打",
        "not_called": "未拨打",
        "unrecorded": "未记录",
    },
    columns={
        "timing": ("类别", "产生", "确认中位数", "确认最长", "处理中位数", "处理最长"),
        "incident_handover": (
            "编号",
            "类别",
            "状态",
            "地点",
            "多设备确认",
            "未结信号",
            "产生时间",
            "认领人",
            "最新备注",
        ),
        "signal_handover": (
            "编号",
            "类别",
            "状态",
            "对象",
            "规则",
            "建筑",
            "所属事件",
            "产生时间",
            "认领人",
            "最新备注",
        ),
        "offline": ("设备", "类型", "建筑", "最后在线"),
        "noisiest": ("对象", "报警次数"),
        "by_class": ("类别", "合计"),
        "dispatches": ("合计", "自动", "值班员", "升级", "接单", "到场", "无人接单", "撤销"),
        "response": ("环节", "次数", "中位数", "最长"),
        "fires": ("事件", "地点", "发现", "原因", "判定", "派单", "到场", "119"),
        "by_model": ("设备类别", "型号", "涉及事件", "已定性", "误报", "误报率"),
        "by_building": ("地点", "事件", "已定性", "误报", "误报率"),
    },
    labels={
        "class": CLASS_ZH,
        "state": {
            "active_unack": "未确认",
            "returned_unack": "已恢复未确认",
            "active_ack": "已确认",
            "shelved": "已搁置",
            "suppressed": "维护中抑制",
            "resolved": "已处理",
        },
        # The rules a grid worker never reads about (dispatch.messages has the others).
        "rule": {
            **RULE_ZH,
            "offline": "设备离线",
            "low_battery": "电量低",
            "fault": "设备故障",
            "sensor_stuck": "传感器读数停滞",
            "comm_fault": "通信故障",
            "confirmed_fire": "确认火警",
            "alert_flood": "报警泛滥",
            "clock_skew": "设备时钟偏差",
            "mqtt_session": "接入会话中断",
        },
        "verdict": {
            "real_fire": "真实火情",
            "false_alarm": "误报",
            "test": "测试",
            "maintenance": "维护",
            "other": "其他",
            "no_access": "无法进入",
            "unjudged": "未定性",
        },
        "kind": {
            "smoke": "烟感",
            "electrical": "电气火灾监控",
            "thermal_camera": "热成像摄像机",
            "video_camera": "视频摄像机",
            "panel": "消防报警部件",
            "transmitter": "用户信息传输装置",
        },
        "model": {
            "smoke": "光电感烟",
            "heat": "感温",
            "multi": "烟温复合",
            "call_point": "手动报警按钮",
            "electrical": "电气火灾监控器",
            "thermal_dome": "热成像球机",
            "ptz_dome": "云台球机",
            "bullet": "枪机",
        },
        "cause": {
            **{cause: label for labels in CAUSES.values() for cause, label in labels.items()},
            "unspecified": "未注明",
        },
        "judged_by": {"operator": "值班员", "field": "网格员"},
        "step": {"acknowledge": "接警确认", "dispatch": "派单", "arrive": "到场"},
    },
    units=("{}小时", "{}分", "{}秒"),
    zones=ZONE_ZH,
)

_EN = Words(
    phrases={
        "none": "none",
        "sep": ", ",
        "colon": ": ",
        "span": "{start} to {end} ({zone})",
        "in_camera": "in camera {camera}'s view",
        "named_place": "{name} ({building})",
        "yes": "yes",
        "no": "no",
        "verdicts": "false-alarm ratio {ratio} (verdicts: {found})",
        "shift_title": "{site} shift report",
        "shift_span": "Shift: {span}",
        "shift_incidents": "New incidents: {total}, of which {confirmed} fires confirmed by "
        "several devices; {verdicts}.",
        "shift_signals": "New signals (alerts): {total}, {escalated} escalated; {verdicts}.",
        "incident_times": "Incidents and response times",
        "incident_handover": "Open incidents to hand over",
        "signal_times": "Signals (alerts) and response times",
        "signal_handover": "Open signals to hand over",
        "offline": "Devices offline ({count})",
        "noisiest": "Devices with the most alerts",
        "month_title": "{site} fire monitoring monthly report: {month}",
        "month_span": "Period: {span}",
        "summary": "Summary",
        "month_incidents": "Incidents: {total}, of which {confirmed} fires confirmed by "
        "several devices",
        "month_dispatches": "Dispatches: {total} ({automatic} automatic, {by_operator} by "
        "operators); grid workers arrived {arrived} times",
        "month_fires": "Real fires handled: {count}; call to 119 confirmed for {called}",
        "month_false": "False-alarm ratio {ratio} ({judged} fires and pre-alarms judged, "
        "{false} of them false alarms)",
        "by_class": "Incidents by class and verdict",
        "incident_causes": "Causes (the grid workers' verdicts on site):",
        "dispatches": "Dispatches",
        "dispatch_causes": "Verdicts on site:",
        "response": "Response times (from the incident raised)",
        "fires": "Real fires ({count})",
        "false_by_model": "False-alarm ratio by device model",
        "false_by_building": "False-alarm ratio by building",
        "unregistered": "not registered",
        "called": "called",
        "not_called": "not called",
        "unrecorded": "not recorded",
    },
    columns={
        "timing": (
            "Class",
            "Raised",
            "Median to acknowledge",
            "Worst to acknowledge",
            "Median to resolve",
            "Worst to resolve",
        ),
        "incident_handover": (
            "No.",
            "Class",
            "State",
            "Place",
            "Confirmed by several devices",
            "Open signals",
            "Raised at",
            "Claimed by",
            "Latest comment",
        ),
        "signal_handover": (
            "No.",
            "Class",
            "State",
            "Subject",
            "Rule",
            "Building",
            "Incident",
            "Raised at",
            "Claimed by",
            "Latest comment",
        ),
        "offline": ("Device", "Kind", "Building", "Last heard"),
        "noisiest": ("Subject", "Alerts"),
        "by_class": ("Class", "Total"),
        "dispatches": (
            "Total",
            "Automatic",
            "By operator",
            "Escalated",
            "Accepted",
            "Arrived",
            "Unanswered",
            "Revoked",
        ),
        "response": ("Step", "Count", "Median", "Worst"),
        "fires": (
            "Incident",
            "Place",
            "Found",
            "Cause",
            "Judged by",
            "Dispatched",
            "Arrived",
            "119",
        ),
        "by_model": (
            "Device kind",
            "Model",
            "Incidents",
            "Judged",
            "False alarms",
            "False-alarm ratio",
        ),
        "by_building": ("Place", "Incidents", "Judged", "False alarms", "False-alarm ratio"),
    },
    labels={
        "class": {
            "fire": "fire",
            "prealarm": "pre-alarm",
            "supervisory": "supervisory",
            "trouble": "trouble",
        },
        "state": {
            "active_unack": "unacknowledged",
            "returned_unack": "returned, unacknowledged",
            "active_ack": "acknowledged",
            "shelved": "shelved",
            "suppressed": "suppressed for maintenance",
            "resolved": "resolved",
        },
        "rule": {
            "smoke_alarm": "smoke alarm",
            "smoke_prealarm": "smoke pre-alarm",
            "smoke_obscuration": "smoke obscuration",
            "heat_fixed": "heat fixed",
            "heat_ror": "heat rate of rise",
            "heat_anomaly": "heat anomaly",
            "leakage": "leakage current",
            "leakage_trend": "leakage current rising",
            "cable_temp": "cable temperature",
            "cable_temp_ror": "cable temperature rising fast",
            "cable_fire": "cable fire",
            "electrical_alarm": "electrical alarm",
            "camera_hotspot": "camera hot spot",
            "camera_prealarm": "camera pre-alarm",
            "camera_sudden_rise": "camera sudden rise",
            "camera_growth": "camera hot area growing",
            "camera_fire": "camera fire",
            "camera_smoke": "camera smoke",
            "panel_fire": "fire panel alarm",
            "panel_supervisory": "fire panel supervisory",
            "offline": "offline",
            "low_battery": "low battery",
            "fault": "device fault",
            "sensor_stuck": "sensor stuck",
            "tamper": "tamper",
            "comm_fault": "communication fault",
            "confirmed_fire": "confirmed fire",
            "alert_flood": "alarm flood",
            "clock_skew": "device clock wrong",
            "mqtt_session": "broker session lost",
        },
        "verdict": {
            "real_fire": "real fire",
            "false_alarm": "false alarm",
            "test": "test",
            "maintenance": "maintenance",
            "other": "other",
            "no_access": "no access",
            "unjudged": "not judged",
        },
        "kind": {
            "smoke": "smoke detector",
            "electrical": "electrical fire monitor",
            "thermal_camera": "thermal camera",
            "video_camera": "video camera",
            "panel": "fire panel component",
            "transmitter": "transmission device",
        },
        "model": {
            "smoke": "photoelectric smoke",
            "heat": "heat",
            "multi": "smoke and heat",
            "call_point": "manual call point",
            "electrical": "electrical fire monitor",
            "thermal_dome": "thermal dome",
            "ptz_dome": "PTZ dome",
            "bullet": "bullet camera",
        },
        "cause": {
            "ebike_charging": "e-bike charging",
            "electrical": "electrical wiring",
            "cooking": "cooking fire",
            "open_flame": "open flame (cigarette, offerings, burning)",
            "cooking_fumes": "cooking fumes",
            "smoking": "smoking",
            "steam": "steam",
            "dust": "dust",
            "insects": "insects",
            "device_fault": "device fault",
            "testing": "testing or repair",
            "locked": "door locked",
            "no_answer": "nobody answered",
            "blocked": "way blocked",
            "other": "other",
            "real_fire": "real fire",
            "false_alarm": "false alarm",
            "test": "test",
            "maintenance": "maintenance",
            "unspecified": "not stated",
        },
        "judged_by": {"operator": "operator", "field": "grid worker"},
        "step": {"acknowledge": "acknowledge", "dispatch": "dispatch", "arrive": "arrive"},
    },
    units=("{} h ", "{} min ", "{} s"),
    zones={"Asia/Shanghai": "Beijing time"},
)

WORDS = {Lang.ZH: _ZH, Lang.EN: _EN}
