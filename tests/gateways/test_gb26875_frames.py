"""The GB/T 26875.3 codec against the standard's own examples and the tests' encoder: every
checking error of clause 6.5 is a refusal with a reason, and no byte stream raises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.gb26875 import data_units, frames
from gateways.gb26875.frames import Command, Frame, FrameReader, Refused
from tests.gateways import gb26875_wire as wire

# The standard's worked example (GB/T 26875.3-2011, as published with its annex of examples):
# device 000000000379 reports to centre 000000015b38, serial 1, 2012-09-26 09:58:32, a smoke
# detector (type 40) of system 1, zone 10 position 2, in fire alarm (state 0x0002) at 09:58:02.
EXAMPLE = bytes.fromhex(
    "4040 0100 0101 203a091a090c 790300000000 385b01000000 3000 02"
    "02 01 01 01 28 0a000200 0200" + "20" * 30 + "00" + "023a091a090c 46 2323"
)
# The centre's confirm of it, and its deny (time label 09:58:35).
EXAMPLE_CONFIRM = bytes.fromhex(
    "4040 0100 0101 233a091a090c 385b01000000 790300000000 0000 03 ab 2323"
)
EXAMPLE_DENY = bytes.fromhex(
    "4040 0100 0101 233a091a090c 385b01000000 790300000000 0000 06 ae 2323"
)
AT = datetime(2026, 12, 5, 3, 0, 0, tzinfo=UTC)
DEVICE = wire.address("00000000abcd")


def _one(data: bytes, **kw: int) -> Frame | Refused:
    (item,) = FrameReader(**kw).feed(data)
    return item


def test_the_standards_example_reads_and_is_confirmed_as_the_standard_shows() -> None:
    got = _one(EXAMPLE)
    assert isinstance(got, Frame)
    assert (got.serial, got.command, got.source_hex) == (1, Command.SEND, "000000000379")
    unit = data_units.parse(got.adu)
    (obj,) = unit.objects
    assert isinstance(obj, data_units.ComponentState)
    assert (obj.system, obj.component_type, obj.state) == (1, 40, 0x0002)
    assert obj.component == wire.component_id(zone=10, position=2)
    label = bytes.fromhex("233a091a090c")
    assert frames.reply(got, command=Command.CONFIRM, label=label) == EXAMPLE_CONFIRM
    assert frames.reply(got, command=Command.DENY, label=label) == EXAMPLE_DENY


def test_a_test_encoded_frame_reads_back() -> None:
    obj = wire.component(system=3, zone=7, position=9, state=0x0007, at=AT, text="三楼烟感")
    raw = wire.frame(serial=513, command=2, source=DEVICE, adu=wire.unit(2, obj), at=AT)
    got = _one(raw)
    assert isinstance(got, Frame) and got.serial == 513
    (parsed,) = data_units.parse(got.adu).objects
    assert isinstance(parsed, data_units.ComponentState)
    assert parsed.description == "三楼烟感"
    assert frames.moment_of(parsed.label, wire.TZ) == AT


def _good(serial: int = 1) -> bytes:
    obj = wire.component(system=1, zone=1, position=1, state=3, at=AT)
    return wire.frame(serial=serial, command=2, source=DEVICE, adu=wire.unit(2, obj), at=AT)


def test_a_wrong_checksum_is_refused_and_can_be_denied() -> None:
    raw = bytearray(_good(serial=77))
    raw[-3] ^= 0x01
    got = _one(bytes(raw))
    assert isinstance(got, Refused) and got.code == "checksum" and got.deniable
    assert got.serial == 77 and got.source == DEVICE
    assert "checksum" in got.detail


def test_a_wrong_end_mark_is_refused_and_the_next_frame_still_reads() -> None:
    raw = bytearray(_good(serial=5))
    raw[-1] = 0x24
    got = FrameReader().feed(bytes(raw) + _good(serial=6))
    assert isinstance(got[0], Refused) and got[0].code == "end_mark" and got[0].serial == 5
    assert [f.serial for f in got if isinstance(f, Frame)] == [6]


def test_a_length_over_the_limit_is_refused() -> None:
    header = wire.frame(serial=9, command=2, source=DEVICE, adu=b"", at=AT)[:24]
    raw = header + (2000).to_bytes(2, "little") + b"\x02"
    got = _one(raw)
    assert isinstance(got, Refused) and got.code == "length" and got.serial == 9
    small = FrameReader(max_frame_bytes=60).feed(_good())
    assert isinstance(small[0], Refused) and small[0].code == "length"
    assert not any(isinstance(f, Frame) for f in small)  # the rest is junk: no start mark


@pytest.mark.parametrize("command", [0, 7, 127, 128, 255])
def test_an_unknown_command_byte_is_refused(command: int) -> None:
    got = _one(wire.frame(serial=1, command=command, source=DEVICE, at=AT))
    assert isinstance(got, Refused) and got.code == "command" and got.deniable


def test_junk_before_a_frame_is_refused_in_one_piece_and_cannot_be_denied() -> None:
    got = FrameReader().feed(b"hello world" + _good(serial=3))
    assert isinstance(got[0], Refused) and got[0].code == "junk" and not got[0].deniable
    assert got[0].raw == b"hello world"
    assert isinstance(got[1], Frame) and got[1].serial == 3


def test_a_frame_split_anywhere_reads_the_same() -> None:
    raw = _good(serial=11) + _good(serial=12)
    for cut in range(1, len(raw)):
        reader = FrameReader()
        got = reader.feed(raw[:cut]) + reader.feed(raw[cut:])
        assert [f.serial for f in got if isinstance(f, Frame)] == [11, 12], cut
        assert reader.pending == 0


def test_junk_without_a_start_mark_is_bounded() -> None:
    reader = FrameReader(max_frame_bytes=100)
    got = reader.feed(b"x" * 250)
    assert got and all(isinstance(r, Refused) and r.code == "junk" for r in got)
    assert reader.pending < 100


def test_what_is_left_at_close_is_refused_as_truncated() -> None:
    reader = FrameReader()
    assert reader.feed(_good()[:40]) == []
    (left,) = reader.close()
    assert left.code == "truncated" and len(left.raw) == 40


@pytest.mark.parametrize(
    ("adu", "why"),
    [
        (b"\x02", "no type and count"),
        (wire.unit(2), "1..22 objects"),
        (wire.unit(2, b"\x00" * 45), "need 48 bytes"),
        (bytes([2, 23]) + b"\x00" * 46 * 23, "1..22 objects"),
        (wire.unit(90, b"\x00"), "the centre's to send"),
        (wire.unit(200, b"\x00"), "reserved or user-defined"),
    ],
)
def test_a_data_unit_that_does_not_fit_is_refused(adu: bytes, why: str) -> None:
    with pytest.raises(data_units.AduError, match=why):
        data_units.parse(adu)


def test_version_and_configuration_units_are_taken_and_not_stored() -> None:
    assert data_units.parse(wire.unit(25, b"\x01\x01")).objects == ()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_any_bytes_give_frames_or_refusals_never_an_exception(chunks: list[bytes]) -> None:
    reader = FrameReader(max_frame_bytes=300)
    out: list[Frame | Refused] = []
    for chunk in chunks:
        out += reader.feed(chunk)
    out += reader.close()
    for item in out:
        assert isinstance(item, Frame | Refused)
        if isinstance(item, Refused):
            assert item.code and item.detail
        else:
            try:
                data_units.parse(item.adu)
            except data_units.AduError as exc:
                assert str(exc)
    assert reader.pending == 0


_junk = st.binary(max_size=60).map(lambda b: b.replace(b"@", b""))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_junk, st.integers(0, 65535)), min_size=1, max_size=6))
def test_valid_frames_between_junk_all_come_through(parts: list[tuple[bytes, int]]) -> None:
    stream = b"".join(junk + _good(serial=serial) for junk, serial in parts)
    got = FrameReader().feed(stream)
    assert [f.serial for f in got if isinstance(f, Frame)] == [s for _, s in parts]
    assert all(r.code == "junk" for r in got if isinstance(r, Refused))


def test_a_flood_of_start_marks_is_one_refusal_and_what_follows_still_reads() -> None:
    """64 KiB of '@' held 32,755 refusals (11 MB) when each '@@' was a packet refused alone."""
    got = FrameReader().feed(b"@" * 65536 + _good(serial=7))
    refused = [r for r in got if isinstance(r, Refused)]
    assert len(refused) <= 2
    assert [f.serial for f in got if isinstance(f, Frame)] == [7]


@pytest.mark.parametrize("stray", [b"@", b"xyz@", b"@#"])
def test_a_stray_byte_before_a_packet_costs_not_the_packet(stray: bytes) -> None:
    got = FrameReader().feed(stray + _good(serial=9))
    assert [f.serial for f in got if isinstance(f, Frame)] == [9]
    assert all(r.code == "junk" for r in got if isinstance(r, Refused))  # denied to nobody
