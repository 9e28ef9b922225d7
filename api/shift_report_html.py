"""The shift report as a printable page: plain HTML and inline CSS, nothing fetched, so it prints
the same from a control-centre PC with no internet."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.5em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #bbb; padding: 3px 6px;
text-align: left; } th { background: #eee; } .fire { color: #b00; font-weight: bold; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
"""


NONE = "\N{EN DASH}"


def _text(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z")
    return str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_text(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body or '<tr><td colspan=99>none</td></tr>'}</table>"


def _minutes(seconds: float | None) -> str:
    return NONE if seconds is None else f"{seconds / 60:.1f} min"


def render(report: dict[str, Any]) -> str:
    classes = list(report["alerts"]["by_class"])
    ack, done = report["time_to_ack"], report["time_to_resolve"]
    timing = [
        [
            c,
            report["alerts"]["by_class"][c],
            _minutes(ack[c]["median_s"]),
            _minutes(ack[c]["worst_s"]),
            _minutes(done[c]["median_s"]),
            _minutes(done[c]["worst_s"]),
        ]
        for c in classes
    ]
    verdicts = ", ".join(f"{k} {v}" for k, v in report["verdicts"].items()) or "none"
    ratio = report["false_alarm_ratio"]
    title = (
        f"Shift report, {escape(report['site'])}: {_text(report['from'])} to {_text(report['to'])}"
    )
    parts = [
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>",
        f"<style>{_STYLE}</style><h1>{title}</h1>",
        f"<p>{report['alerts']['total']} alerts raised, {report['alerts']['escalated']} escalated. "
        f"False-alarm ratio: {NONE if ratio is None else f'{ratio:.0%}'} "
        f"(verdicts: {escape(verdicts)}).</p>",
        "<h2>Alerts and response times</h2>",
        _table(
            ["class", "raised", "ack median", "ack worst", "resolve median", "resolve worst"],
            timing,
        ),
        "<h2>Open items to hand over</h2>",
        _table(
            [
                "id",
                "class",
                "state",
                "subject",
                "rule",
                "building",
                "raised",
                "claimed by",
                "last comment",
            ],
            [
                [
                    a["id"],
                    a["class"],
                    a["state"],
                    a["subject"],
                    a["rule"],
                    a["building"],
                    a["created_at"],
                    a["claimed_by"],
                    a["last_comment"],
                ]
                for a in report["handover"]
            ],
        ),
        f"<h2>Devices offline ({report['devices_offline']['count']})</h2>",
        _table(
            ["device", "kind", "building", "last heard"],
            [
                [d["device_id"], d["kind"], d["building"], d["last_heard"]]
                for d in report["devices_offline"]["devices"]
            ],
        ),
        "<h2>Noisiest devices</h2>",
        _table(["subject", "alerts"], [[n["subject"], n["alerts"]] for n in report["noisiest"]]),
        "</html>",
    ]
    return "\n".join(parts)
