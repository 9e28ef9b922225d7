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


def _ratio(ratio: float | None) -> str:
    return NONE if ratio is None else f"{ratio:.0%}"


def _timing(block: dict[str, Any]) -> str:
    """Raised, and times to acknowledge and resolve, by class."""
    ack, done = block["time_to_ack"], block["time_to_resolve"]
    return _table(
        ["class", "raised", "ack median", "ack worst", "resolve median", "resolve worst"],
        [
            [
                c,
                n,
                _minutes(ack[c]["median_s"]),
                _minutes(ack[c]["worst_s"]),
                _minutes(done[c]["median_s"]),
                _minutes(done[c]["worst_s"]),
            ]
            for c, n in block["by_class"].items()
        ],
    )


def _verdicts(block: dict[str, Any]) -> str:
    found = ", ".join(f"{k} {v}" for k, v in block["verdicts"].items()) or "none"
    return f"false-alarm ratio {_ratio(block['false_alarm_ratio'])} (verdicts: {escape(found)})"


def render(report: dict[str, Any]) -> str:
    incidents, signals = report["incidents"], report["signals"]
    title = (
        f"Shift report, {escape(report['site'])}: {_text(report['from'])} to {_text(report['to'])}"
    )
    parts = [
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>",
        f"<style>{_STYLE}</style><h1>{title}</h1>",
        f"<p>{incidents['total']} incidents opened, {incidents['confirmed']} confirmed; "
        f"{_verdicts(incidents)}.</p>",
        f"<p>{signals['total']} signals (alerts) raised, {signals['escalated']} escalated; "
        f"{_verdicts(signals)}.</p>",
        "<h2>Incidents and response times</h2>",
        _timing(incidents),
        "<h2>Open incidents to hand over</h2>",
        _table(
            [
                "id",
                "class",
                "state",
                "place",
                "confirmed",
                "open signals",
                "opened",
                "claimed by",
                "last comment",
            ],
            [
                [
                    i["id"],
                    i["class"],
                    i["state"],
                    i["building"] or f"camera {i['origin']}",
                    "yes" if i["confirmed_at"] else "no",
                    i["open_signals"],
                    i["created_at"],
                    i["claimed_by"],
                    i["last_comment"],
                ]
                for i in incidents["handover"]
            ],
        ),
        "<h2>Signals (alerts) and response times</h2>",
        _timing(signals),
        "<h2>Open signals to hand over</h2>",
        _table(
            [
                "id",
                "class",
                "state",
                "subject",
                "rule",
                "building",
                "incident",
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
                    a["incident_id"],
                    a["created_at"],
                    a["claimed_by"],
                    a["last_comment"],
                ]
                for a in signals["handover"]
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
