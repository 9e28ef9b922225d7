"""What the CSV export writes, the import reads back exactly: a technician's export, edited in
a spreadsheet or not, must not change a device it does not mean to change."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from registry.device_import import parse, to_csv
from store.registry_bulk import DEVICE_FIELDS

# Anything the registry can hold: PostgreSQL text cannot hold NUL (the API refuses it), and
# JSON cannot carry a lone surrogate.
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)


@given(name=TEXT, building=TEXT, room=TEXT, zone=TEXT)
def test_every_text_cell_reads_back_as_it_was_written(
    name: str, building: str, room: str, zone: str
) -> None:
    device: dict[str, Any] = dict.fromkeys(DEVICE_FIELDS)
    device |= {
        "id": "SD-0001",
        "kind": "smoke",
        "site": "zilai",
        "name": name,
        "building": building,
        "room": room,
        "zone": zone,
        "config": {},
    }
    [(_, row)] = parse(to_csv([device]).encode(), "csv").devices
    assert {k: row.get(k) for k in ("name", "building", "room", "zone")} == {
        "name": name,
        "building": building,
        "room": room,
        "zone": zone,
    }


def test_the_formula_and_quote_escapes_are_what_a_spreadsheet_shows() -> None:
    device: dict[str, Any] = dict.fromkeys(DEVICE_FIELDS)
    device |= {"id": "SD-0001", "kind": "smoke", "site": "zilai", "config": {}}
    cells = {
        "=HYPERLINK(1)": "'=HYPERLINK(1)",
        "-": "'-",
        "'quoted": "''quoted",
        " padded ": "' padded ",
        "Community Hall": "Community Hall",
    }
    for value, written in cells.items():
        line = to_csv([device | {"name": value}]).splitlines()[1]
        assert line.split(",")[3] == written, (value, line)
