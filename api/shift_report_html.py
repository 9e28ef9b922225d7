"""The shift report as a printable page, in Chinese or English, times on the site's clock with
their offset: plain HTML and inline CSS, nothing fetched, so it prints the same from a
control-centre PC with no internet."""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape
from typing import Any

from api.local_time import local_text
from api.report_text import NONE, WORDS, Lang, Words, ratio

_STYLE = """
body { font: 14px/1.5 "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC",
"WenQuanYi Micro Hei", system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.5em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #bbb; padding: 3px 6px;
text-align: left; } th { background: #eee; } td.n { text-align: right; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
"""


class _Page:
    """Every time on the page on the site's clock, every word in the page's language."""

    def __init__(self, tz: tzinfo, words: Words) -> None:
        self.tz = tz
        self.words = words

    def cell(self, value: Any) -> str:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if value is None:
            text = NONE
        elif isinstance(value, datetime):
            text = local_text(value, self.tz)
        else:
            text = str(value)
        return f"<td{' class=n' if numeric else ''}>{escape(text)}</td>"

    def table(self, columns: str, rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in self.words.columns[columns])
        body = "".join("<tr>" + "".join(self.cell(c) for c in row) + "</tr>" for row in rows)
        empty = f"<tr><td colspan=99>{self.words.say('none')}</td></tr>"
        return f"<table><tr>{head}</tr>{body or empty}</table>"


def _timing(block: dict[str, Any], page: _Page) -> str:
    """Raised, and times to acknowledge and resolve, by class."""
    ack, done, w = block["time_to_ack"], block["time_to_resolve"], page.words
    return page.table(
        "timing",
        [
            [
                w.label("class", c),
                n,
                w.duration(ack[c]["median_s"]),
                w.duration(ack[c]["worst_s"]),
                w.duration(done[c]["median_s"]),
                w.duration(done[c]["worst_s"]),
            ]
            for c, n in block["by_class"].items()
        ],
    )


def _verdicts(block: dict[str, Any], w: Words) -> str:
    found = w.say("sep").join(f"{w.label('verdict', k)} {v}" for k, v in block["verdicts"].items())
    return w.say(
        "verdicts", ratio=ratio(block["false_alarm_ratio"]), found=escape(found or w.say("none"))
    )


def render(report: dict[str, Any], *, tz: tzinfo, lang: Lang = Lang.ZH) -> str:
    """``tz``: the site's, on whose clock every time is written."""
    w = WORDS[lang]
    page = _Page(tz, w)
    incidents, signals = report["incidents"], report["signals"]
    start, end = report["from"], report["to"]
    title = w.say("shift_title", site=escape(report["site"]))
    span = w.say(
        "span",
        start=local_text(start, tz),
        end=local_text(end, tz),
        zone=escape(w.zone(str(tz), start.astimezone(tz))),
    )
    parts = [
        f'<!doctype html><html lang="{lang.value}"><meta charset="utf-8"><title>{title}</title>',
        f"<style>{_STYLE}</style><h1>{title}</h1><p>{w.say('shift_span', span=span)}</p>",
        "<p>"
        + w.say(
            "shift_incidents",
            total=incidents["total"],
            confirmed=incidents["confirmed"],
            verdicts=_verdicts(incidents, w),
        )
        + "</p>",
        "<p>"
        + w.say(
            "shift_signals",
            total=signals["total"],
            escalated=signals["escalated"],
            verdicts=_verdicts(signals, w),
        )
        + "</p>",
        f"<h2>{w.say('incident_times')}</h2>",
        _timing(incidents, page),
        f"<h2>{w.say('incident_handover')}</h2>",
        page.table(
            "incident_handover",
            [
                [
                    i["id"],
                    w.label("class", i["class"]),
                    w.label("state", i["state"]),
                    i["building"] or w.say("in_camera", camera=i["origin"]),
                    w.say("yes") if i["confirmed_at"] else w.say("no"),
                    i["open_signals"],
                    i["created_at"],
                    i["claimed_by"],
                    i["last_comment"],
                ]
                for i in incidents["handover"]
            ],
        ),
        f"<h2>{w.say('signal_times')}</h2>",
        _timing(signals, page),
        f"<h2>{w.say('signal_handover')}</h2>",
        page.table(
            "signal_handover",
            [
                [
                    a["id"],
                    w.label("class", a["class"]),
                    w.label("state", a["state"]),
                    a["subject"],
                    w.label("rule", a["rule"]),
                    a["building"],
                    a["incident_id"],
                    a["created_at"],
                    a["claimed_by"],
                    a["last_comment"],
                ]
                for a in signals["handover"]
            ],
        ),
        f"<h2>{w.say('offline', count=report['devices_offline']['count'])}</h2>",
        page.table(
            "offline",
            [
                [d["device_id"], w.label("kind", d["kind"]), d["building"], d["last_heard"]]
                for d in report["devices_offline"]["devices"]
            ],
        ),
        f"<h2>{w.say('noisiest')}</h2>",
        page.table("noisiest", [[n["subject"], n["alerts"]] for n in report["noisiest"]]),
        "</html>",
    ]
    return "\n".join(parts)
