"""The monthly report as a printable page, in Chinese or English, times on the site's clock
(Beijing time by default) with their offset: plain HTML and inline CSS, nothing fetched, so it
prints the same from a control-centre PC with no internet."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from api.local_time import local_text
from api.report_text import NONE, VERDICTS, WORDS, Lang, Words, ratio

_STYLE = """
body { font: 14px/1.5 "Noto Sans CJK SC", "Microsoft YaHei", system-ui, sans-serif; margin: 2em;
color: #111; } h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.5em;
border-bottom: 1px solid #999; } table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #bbb; padding: 3px 6px; text-align: left; } th { background: #eee; }
td.n { text-align: right; } .fire { color: #b00; font-weight: bold; }
@media print { body { margin: 0; } }
"""


class _Page:
    """Times shown on the report's own time zone, the site's; words in the page's language."""

    def __init__(self, report: dict[str, Any], words: Words) -> None:
        self.tz = report["from"].tzinfo
        self.words = words

    def text(self, value: Any) -> str:
        if value is None:
            return NONE
        if isinstance(value, datetime):
            return local_text(value, self.tz)
        return str(value)

    def cell(self, value: Any) -> str:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        return f"<td{' class=n' if numeric else ''}>{escape(self.text(value))}</td>"

    def table(self, headers: list[str] | tuple[str, ...], rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(self.cell(c) for c in row) + "</tr>" for row in rows)
        empty = f"<tr><td colspan=99>{self.words.say('none')}</td></tr>"
        return f"<table><tr>{head}</tr>{body or empty}</table>"


def _causes(by_verdict: dict[str, dict[str, int]], w: Words) -> str:
    parts = []
    for verdict, causes in by_verdict.items():
        found = w.say("sep").join(f"{w.label('cause', c)} {n}" for c, n in causes.items())
        said = f"{w.label('verdict', verdict)}{w.say('colon')}{found or w.say('none')}"
        parts.append(f"<li>{escape(said)}</li>")
    return f"<ul>{''.join(parts)}</ul>"


def _place(row: dict[str, Any], w: Words) -> str:
    if row["building"] is None:
        return w.say("in_camera", camera=row["camera"])
    if row["name"]:
        return w.say("named_place", name=row["name"], building=row["building"])
    return str(row["building"])


def render(report: dict[str, Any], *, lang: Lang = Lang.ZH) -> str:
    w = WORDS[lang]
    page = _Page(report, w)
    incidents, dispatches = report["incidents"], report["dispatches"]
    fires, false = report["real_fires"], report["false_alarms"]
    zone = w.zone(report["timezone"], report["from"])
    title = w.say("month_title", site=escape(report["site"]), month=escape(report["month"]))
    span = w.say(
        "span", start=page.text(report["from"]), end=page.text(report["to"]), zone=escape(zone)
    )
    parts = [
        f'<!doctype html><html lang="{lang.value}"><meta charset="utf-8"><title>{title}</title>',
        f"<style>{_STYLE}</style><h1>{title}</h1><p>{w.say('month_span', span=span)}</p>",
        f"<h2>{w.say('summary')}</h2><ul>",
        "<li>"
        + w.say("month_incidents", total=incidents["total"], confirmed=incidents["confirmed"])
        + "</li>",
        "<li>"
        + w.say(
            "month_dispatches",
            total=dispatches["total"],
            automatic=dispatches["automatic"],
            by_operator=dispatches["by_operator"],
            arrived=dispatches["arrived"],
        )
        + "</li>",
        "<li class=fire>"
        + w.say("month_fires", count=fires["count"], called=fires["called_119"])
        + "</li>",
        "<li>"
        + w.say(
            "month_false",
            ratio=ratio(false["false_alarm_ratio"]),
            judged=false["judged"],
            false=false["false_alarms"],
        )
        + "</li>",
        "</ul>",
        f"<h2>{w.say('by_class')}</h2>",
        page.table(
            [*w.columns["by_class"], *(w.label("verdict", v) for v in VERDICTS)],
            [
                [w.label("class", c), incidents["by_class"][c], *(row[v] for v in VERDICTS)]
                for c, row in incidents["by_class_and_verdict"].items()
            ],
        ),
        f"<p>{w.say('incident_causes')}</p>",
        _causes(incidents["causes"], w),
        f"<h2>{w.say('dispatches')}</h2>",
        page.table(
            w.columns["dispatches"],
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
        ),
        f"<p>{w.say('dispatch_causes')}</p>",
        _causes(dispatches["causes"], w),
        f"<h2>{w.say('response')}</h2>",
        page.table(
            w.columns["response"],
            [
                [
                    w.label("step", k),
                    t["count"],
                    w.duration(t["median_s"]),
                    w.duration(t["worst_s"]),
                ]
                for k, t in report["response_times"].items()
            ],
        ),
        f"<h2>{w.say('fires', count=fires['count'])}</h2>",
        page.table(
            w.columns["fires"],
            [
                [
                    f["id"],
                    _place(f, w),
                    f["created_at"],
                    w.label("cause", f["cause"] or "unspecified"),
                    w.label("judged_by", f["judged_by"]) if f["judged_by"] else None,
                    f["dispatched_at"],
                    f["arrived_at"],
                    w.say(
                        {True: "called", False: "not_called"}.get(
                            f["call_119_confirmed"], "unrecorded"
                        )
                    ),
                ]
                for f in fires["incidents"]
            ],
        ),
        f"<h2>{w.say('false_by_model')}</h2>",
        page.table(
            w.columns["by_model"],
            [
                [
                    w.label("kind", m["kind"]),
                    w.label("model", m["model"]) if m["model"] else w.say("unregistered"),
                    m["incidents"],
                    m["judged"],
                    m["false_alarms"],
                    ratio(m["false_alarm_ratio"]),
                ]
                for m in false["by_model"]
            ],
        ),
        f"<h2>{w.say('false_by_building')}</h2>",
        page.table(
            w.columns["by_building"],
            [
                [
                    _place(b, w),
                    b["incidents"],
                    b["judged"],
                    b["false_alarms"],
                    ratio(b["false_alarm_ratio"]),
                ]
                for b in false["by_building"]
            ],
        ),
        "</html>",
    ]
    return "\n".join(parts)
