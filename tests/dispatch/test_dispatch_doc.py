"""docs/dispatch.md stays true to the code: every roster example imports without an error,
every channel example checks for its kind and builds its request, and the example message is
the message the dispatcher writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from dispatch import channels
from dispatch.messages import IncidentFacts, SignalFact, dispatch_message
from dispatch.model import Channel, ChannelKind, Contact, Message
from dispatch.roster_import import check, parse

DOC = Path(__file__).resolve().parents[2] / "docs" / "dispatch.md"
_BLOCK = re.compile(r"^```(\w+)(?: ([\w ]+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks(language: str, tag: str) -> list[tuple[str, str]]:
    """(the words after the tag, the text) of each fenced block of ``language`` tagged so."""
    found = []
    for lang, words, text in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        head, _, rest = (words or "").partition(" ")
        if lang == language and head == tag:
            found.append((rest, text))
    return found


def test_the_roster_examples_import_without_an_error() -> None:
    examples = [("json", text) for _, text in _blocks("json", "roster")]
    examples += [("csv", text) for _, text in _blocks("csv", "people")]
    for section in ("shifts", "supervisors", "channels"):
        examples += [("csv", text) for _, text in _blocks("csv", section)]
    assert len(examples) == 5
    for media, text in examples:
        checked = check(parse(text.encode(), media))
        assert checked.errors == [], (text, checked.errors)
        assert sum(len(rows) for rows in checked.rows.values()) >= 1


@pytest.mark.parametrize("kind", list(ChannelKind))
def test_each_channel_example_checks_and_builds(kind: ChannelKind) -> None:
    (example,) = [text for words, text in _blocks("json", "channel") if words == kind.value]
    config = channels.check_config(kind, orjson.loads(example))
    message = Message(
        title="火警",
        text="请前往",
        link="https://fw.example.cn/field/t",
        mention_phones=("13800138000",),
    )
    request = channels.build(
        Channel(id="c", kind=kind, config=config), message, now=datetime.now(UTC)
    )
    assert request.url.startswith("https://")


def test_the_example_message_is_what_the_dispatcher_writes() -> None:
    ((_, example),) = _blocks("text", "message")
    facts = IncidentFacts(
        incident_id=42,
        building="B-012",
        building_name="紫来街12号楼",
        address="紫来街12号",
        origin=None,
        alert_class="fire",
        confirmed=True,
        lat=23.12345,
        lon=113.26543,
        signals=(
            SignalFact(device_id="SD-0146", rule="smoke_alarm", alert_class="fire"),
            SignalFact(device_id="SD-0147", rule="heat_fixed", alert_class="fire"),
        ),
    )
    wang = Contact(
        person_id="wang.fang",
        name="王芳",
        phone="13800138000",
        role="grid_worker",
        level=0,
        channels=(),
    )
    message = dispatch_message(
        facts, contact=wang, link="https://fw.example.cn/field/…", escalated=False
    )
    assert example.splitlines() == [message.title, *message.text.splitlines()]
