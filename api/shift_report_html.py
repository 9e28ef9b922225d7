"""The shift report as a printable page in Chinese, times on the site's clock with their offset:
plain HTML and inline CSS, nothing fetched, so it prints the same from a control-centre PC with
no internet."""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape
from typing import Any

from api.local_time import local_text, zone_zh
from api.monthly_report_html import KIND_ZH, VERDICT_ZH, duration_zh, ratio_zh
from dispatch.messages import CLASS_ZH, RULE_ZH

_STYLE = """
body { font: 14px/1.5 "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC",
"WenQuanYi Micro Hei", system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.5em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #bbb; padding: 3px 6px;
text-align: left; } th { background: #eee; } td.n { text-align: right; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
"""

NONE = "\N{EN DASH}"
STATE_ZH = {
    "active_unack": "未确认",
    "returned_unack": "已恢复未确认",
    "active_ack": "已确认",
    "shelved": "已搁置",
    "suppressed": "维护中抑制",
    "resolved": "已处理",
}
# The rules a grid worker never reads about (dispatch.messages has the others).
SIGNAL_RULE_ZH = {
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
}


class _Clock:
    """Every time on the page on the site's clock."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz

    def cell(self, value: Any) -> str:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if value is None:
            text = NONE
        elif isinstance(value, datetime):
            text = local_text(value, self.tz)
        else:
            text = str(value)
        return f"<td{' class=n' if numeric else ''}>{escape(text)}</td>"


def _table(headers: list[str], rows: list[list[Any]], clock: _Clock) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(clock.cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body or '<tr><td colspan=99>无</td></tr>'}</table>"


def _timing(block: dict[str, Any], clock: _Clock) -> str:
    """Raised, and times to acknowledge and resolve, by class."""
    ack, done = block["time_to_ack"], block["time_to_resolve"]
    return _table(
        ["类别", "产生", "确认中位数", "确认最长", "处理中位数", "处理最长"],
        [
            [
                CLASS_ZH.get(c, c),
                n,
                duration_zh(ack[c]["median_s"]),
                duration_zh(ack[c]["worst_s"]),
                duration_zh(done[c]["median_s"]),
                duration_zh(done[c]["worst_s"]),
            ]
            for c, n in block["by_class"].items()
        ],
        clock,
    )


def _verdicts(block: dict[str, Any]) -> str:
    found = "，".join(f"{VERDICT_ZH.get(k, k)} {v}" for k, v in block["verdicts"].items())
    return f"误报率 {ratio_zh(block['false_alarm_ratio'])}（处理结论：{escape(found or '无')}）"


def render(report: dict[str, Any], *, tz: tzinfo) -> str:
    """``tz``: the site's, on whose clock every time is written."""
    clock = _Clock(tz)
    incidents, signals = report["incidents"], report["signals"]
    start, end = report["from"], report["to"]
    title = f"{escape(report['site'])} 值班报告"
    span = (
        f"{local_text(start, tz)} 至 {local_text(end, tz)}"
        f"（{escape(zone_zh(str(tz), start.astimezone(tz)))}）"
    )
    parts = [
        f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{title}</title>',
        f"<style>{_STYLE}</style><h1>{title}</h1><p>值班时段：{span}</p>",
        f"<p>新增事件 {incidents['total']} 起，其中多设备确认火警 {incidents['confirmed']} 起；"
        f"{_verdicts(incidents)}。</p>",
        f"<p>新增信号（报警）{signals['total']} 条，升级 {signals['escalated']} 条；"
        f"{_verdicts(signals)}。</p>",
        "<h2>事件及响应时间</h2>",
        _timing(incidents, clock),
        "<h2>待交接的未结事件</h2>",
        _table(
            [
                "编号",
                "类别",
                "状态",
                "地点",
                "多设备确认",
                "未结信号",
                "产生时间",
                "认领人",
                "最新备注",
            ],
            [
                [
                    i["id"],
                    CLASS_ZH.get(i["class"], i["class"]),
                    STATE_ZH.get(i["state"], i["state"]),
                    i["building"] or f"摄像机 {i['origin']} 画面中",
                    "是" if i["confirmed_at"] else "否",
                    i["open_signals"],
                    i["created_at"],
                    i["claimed_by"],
                    i["last_comment"],
                ]
                for i in incidents["handover"]
            ],
            clock,
        ),
        "<h2>信号（报警）及响应时间</h2>",
        _timing(signals, clock),
        "<h2>待交接的未结信号</h2>",
        _table(
            [
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
            ],
            [
                [
                    a["id"],
                    CLASS_ZH.get(a["class"], a["class"]),
                    STATE_ZH.get(a["state"], a["state"]),
                    a["subject"],
                    SIGNAL_RULE_ZH.get(a["rule"], a["rule"]),
                    a["building"],
                    a["incident_id"],
                    a["created_at"],
                    a["claimed_by"],
                    a["last_comment"],
                ]
                for a in signals["handover"]
            ],
            clock,
        ),
        f"<h2>离线设备（{report['devices_offline']['count']} 台）</h2>",
        _table(
            ["设备", "类型", "建筑", "最后在线"],
            [
                [d["device_id"], KIND_ZH.get(d["kind"], d["kind"]), d["building"], d["last_heard"]]
                for d in report["devices_offline"]["devices"]
            ],
            clock,
        ),
        "<h2>报警最多的设备</h2>",
        _table(
            ["对象", "报警次数"], [[n["subject"], n["alerts"]] for n in report["noisiest"]], clock
        ),
        "</html>",
    ]
    return "\n".join(parts)
