"""The monthly report as a printable page in Chinese, times on the site's clock (Beijing time by
default) with their offset: plain HTML and inline CSS, nothing fetched, so it prints the same
from a control-centre PC with no internet."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from api.local_time import local_text, zone_zh
from dispatch.messages import CLASS_ZH
from dispatch.steps import CAUSES

_STYLE = """
body { font: 14px/1.5 "Noto Sans CJK SC", "Microsoft YaHei", system-ui, sans-serif; margin: 2em;
color: #111; } h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.5em;
border-bottom: 1px solid #999; } table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #bbb; padding: 3px 6px; text-align: left; } th { background: #eee; }
td.n { text-align: right; } .fire { color: #b00; font-weight: bold; }
@media print { body { margin: 0; } }
"""

NONE = "\N{EN DASH}"
VERDICT_ZH = {
    "real_fire": "真实火情",
    "false_alarm": "误报",
    "test": "测试",
    "maintenance": "维护",
    "other": "其他",
    "no_access": "无法进入",
    "unjudged": "未定性",
}
KIND_ZH = {
    "smoke": "烟感",
    "electrical": "电气火灾监控",
    "thermal_camera": "热成像摄像机",
    "video_camera": "视频摄像机",
}
MODEL_ZH = {
    "smoke": "光电感烟",
    "heat": "感温",
    "multi": "烟温复合",
    "call_point": "手动报警按钮",
    "electrical": "电气火灾监控器",
    "thermal_dome": "热成像球机",
    "ptz_dome": "云台球机",
    "bullet": "枪机",
}
CAUSE_ZH = {cause: label for labels in CAUSES.values() for cause, label in labels.items()}
CAUSE_ZH["unspecified"] = "未注明"
JUDGED_BY_ZH = {"operator": "值班员", "field": "网格员"}
TIME_ZH = {"acknowledge": "接警确认", "dispatch": "派单", "arrive": "到场"}


class _Clock:
    """Times shown on the report's own time zone, the site's."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.tz = report["from"].tzinfo

    def text(self, value: Any) -> str:
        if value is None:
            return NONE
        if isinstance(value, datetime):
            return local_text(value, self.tz)
        return str(value)


def _cell(value: Any, clock: _Clock) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return f"<td{' class=n' if numeric else ''}>{escape(clock.text(value))}</td>"


def _table(headers: list[str], rows: list[list[Any]], clock: _Clock) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c, clock) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body or '<tr><td colspan=99>无</td></tr>'}</table>"


def duration_zh(seconds: float | None) -> str:
    """``95`` as 1分35秒, ``3725`` as 1小时2分5秒."""
    if seconds is None:
        return NONE
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}小时" if hours else "", f"{minutes}分" if hours or minutes else ""]
    return "".join(parts) + f"{secs}秒"


def ratio_zh(ratio: float | None) -> str:
    return NONE if ratio is None else f"{ratio:.1%}"


def _causes(by_verdict: dict[str, dict[str, int]]) -> str:
    parts = []
    for verdict, causes in by_verdict.items():
        found = "，".join(f"{CAUSE_ZH.get(c, c)} {n}" for c, n in causes.items()) or "无"
        parts.append(f"<li>{escape(VERDICT_ZH[verdict])}：{escape(found)}</li>")
    return f"<ul>{''.join(parts)}</ul>"


def _place(row: dict[str, Any]) -> str:
    if row["building"] is None:
        return f"摄像机 {row['camera']} 画面中"
    return f"{row['name']}（{row['building']}）" if row["name"] else row["building"]


def render(report: dict[str, Any]) -> str:
    clock = _Clock(report)
    incidents, dispatches = report["incidents"], report["dispatches"]
    fires, false = report["real_fires"], report["false_alarms"]
    zone = zone_zh(report["timezone"], report["from"])
    title = f"{escape(report['site'])} 消防监控月度报告：{escape(report['month'])}"
    span = f"{clock.text(report['from'])} 至 {clock.text(report['to'])}（{escape(zone)}）"
    verdicts = list(VERDICT_ZH)
    parts = [
        f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{title}</title>',
        f"<style>{_STYLE}</style><h1>{title}</h1><p>统计时段：{span}</p>",
        "<h2>概况</h2><ul>",
        f"<li>事件 {incidents['total']} 起，其中多设备确认火警 {incidents['confirmed']} 起</li>",
        f"<li>派单 {dispatches['total']} 次（自动 {dispatches['automatic']}，"
        f"值班员 {dispatches['by_operator']}），网格员到场 {dispatches['arrived']} 次</li>",
        f"<li class=fire>处置真实火情 {fires['count']} 起，"
        f"确认拨打119 {fires['called_119']} 起</li>",
        f"<li>误报率 {ratio_zh(false['false_alarm_ratio'])}"
        f"（已定性的火警和预警 {false['judged']} 起，其中误报 {false['false_alarms']} 起）</li>",
        "</ul>",
        "<h2>事件：按类别和结论</h2>",
        _table(
            ["类别", "合计", *(VERDICT_ZH[v] for v in verdicts)],
            [
                [CLASS_ZH.get(c, c), incidents["by_class"][c], *(row[v] for v in verdicts)]
                for c, row in incidents["by_class_and_verdict"].items()
            ],
            clock,
        ),
        "<p>原因（网格员现场结论）：</p>",
        _causes(incidents["causes"]),
        "<h2>派单</h2>",
        _table(
            ["合计", "自动", "值班员", "升级", "接单", "到场", "无人接单", "撤销"],
            [
                [
                    dispatches[k]
                    for k in (
                        "total",
                        "automatic",
                        "by_operator",
                        "escalated",
                        "accepted",
                        "arrived",
                        "unanswered",
                        "revoked",
                    )
                ]
            ],
            clock,
        ),
        "<p>现场结论：</p>",
        _causes(dispatches["causes"]),
        "<h2>响应时间（自事件产生起）</h2>",
        _table(
            ["环节", "次数", "中位数", "最长"],
            [
                [TIME_ZH[k], t["count"], duration_zh(t["median_s"]), duration_zh(t["worst_s"])]
                for k, t in report["response_times"].items()
            ],
            clock,
        ),
        f"<h2>真实火情（{fires['count']} 起）</h2>",
        _table(
            ["事件", "地点", "发现", "原因", "判定", "派单", "到场", "119"],
            [
                [
                    f["id"],
                    _place(f),
                    f["created_at"],
                    CAUSE_ZH.get(f["cause"] or "unspecified", f["cause"]),
                    JUDGED_BY_ZH.get(f["judged_by"], f["judged_by"]),
                    f["dispatched_at"],
                    f["arrived_at"],
                    {True: "已拨打", False: "未拨打"}.get(f["call_119_confirmed"], "未记录"),
                ]
                for f in fires["incidents"]
            ],
            clock,
        ),
        "<h2>误报率：按设备型号</h2>",
        _table(
            ["设备类别", "型号", "涉及事件", "已定性", "误报", "误报率"],
            [
                [
                    KIND_ZH.get(m["kind"], m["kind"]),
                    MODEL_ZH.get(m["model"], m["model"]) if m["model"] else "未登记",
                    m["incidents"],
                    m["judged"],
                    m["false_alarms"],
                    ratio_zh(m["false_alarm_ratio"]),
                ]
                for m in false["by_model"]
            ],
            clock,
        ),
        "<h2>误报率：按建筑</h2>",
        _table(
            ["地点", "事件", "已定性", "误报", "误报率"],
            [
                [
                    _place(b),
                    b["incidents"],
                    b["judged"],
                    b["false_alarms"],
                    ratio_zh(b["false_alarm_ratio"]),
                ]
                for b in false["by_building"]
            ],
            clock,
        ),
        "</html>",
    ]
    return "\n".join(parts)
