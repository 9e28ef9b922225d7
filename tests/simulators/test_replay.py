"""Replay and record through the real broker, checked by a real subscriber."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import orjson
import pytest

from contract.codec import Limits, decode
from contract.frames import decode_frame
from contract.messages import Decoded
from settings import MqttTarget
from simulators.errors import InputError
from simulators.fsri import DEFAULT_MAP, parse_map, read_fsri
from simulators.publisher import Publisher
from simulators.record import record
from simulators.recording import read_jsonl, write_jsonl
from simulators.replay import replay, ts_ms_of, with_site
from simulators.scenarios import ScenarioRun
from tests.simulators.helpers import subscriber

ROOT = Path(__file__).resolve().parents[2]
FSRI = Path("/work/shared/data/fsri2018/100kW_Closed_Back_1.csv")
QUADRANT_A = "Quadrant A Temperature 25 mm Below Ceiling"


def _write(run: ScenarioRun, path: Path, site: str) -> None:
    write_jsonl(path, ((m.t, with_site(m.topic, site), m.payload) for m in run.messages))


def _publisher(url: str, site: str) -> Publisher:
    return Publisher(MqttTarget(url), client_id=f"replay-{site}")


def test_a_scenario_replays_with_device_time_moved_to_now(
    tmp_path: Path, broker_url: str, site: str, scenario_runs: dict[str, ScenarioRun]
) -> None:
    run = scenario_runs["tamper"]  # readings, epoch-ms and RFC 3339 stamps, frames
    path = tmp_path / "tamper.jsonl"
    _write(run, path, site)
    with subscriber(broker_url, site) as sub, _publisher(broker_url, site) as pub:
        started = time.time()
        result = replay(lambda: read_jsonl(path), publisher=pub, speed=0, keep_time=False)
        got = sub.wait_for(len(run.messages))
    assert result.sent == len(run.messages)
    by_key = {(r.topic, orjson.loads(r.payload.split(b"\n", 1)[0])["seq"]): r for r in got}
    now = datetime.now(UTC)
    for m in run.messages:
        received = by_key[(with_site(m.topic, site), _seq(m.topic, m.payload))]
        assert ts_ms_of(received.topic, received.payload) == (
            ts_ms_of(m.topic, m.payload) + result.shift_ms  # type: ignore[operator]
        )
        assert isinstance(
            decode(received.topic, received.payload, now=now, limits=Limits()), Decoded
        )
    last = max(ts_ms_of(r.topic, r.payload) or 0 for r in got) / 1000
    assert abs(last - started) < 2.0  # at speed 0 the recording ends when the replay starts
    frame = next(r for r in got if r.topic.endswith("/frame"))
    original = next(m for m in run.messages if m.topic.endswith("/frame"))
    assert (decode_frame(frame.payload)[1] == decode_frame(original.payload)[1]).all()
    event = next(orjson.loads(r.payload) for r in got if r.topic.endswith("/event"))
    assert event["ts"].endswith("+08:00")


def _seq(topic: str, payload: bytes) -> int:
    head = payload.split(b"\n", 1)[0] if topic.endswith("/frame") else payload
    return int(orjson.loads(head)["seq"])


def test_at_ten_times_speed_the_recording_ends_now(
    tmp_path: Path, broker_url: str, site: str
) -> None:
    path = tmp_path / "ten.jsonl"
    start_ms = 1_749_700_000_000
    write_jsonl(
        path,
        [
            (
                t,
                f"fw/v1/{site}/SD-0001/reading",
                orjson.dumps(
                    {"ts": start_ms + t * 1000, "seq": t + 1, "values": {"temperature_c": 25}}
                ),
            )
            for t in range(11)
        ],
    )
    with subscriber(broker_url, site) as sub, _publisher(broker_url, site) as pub:
        result = replay(lambda: read_jsonl(path), publisher=pub, speed=10, keep_time=False)
        got = sub.wait_for(11)
    span = got[-1].at - got[0].at
    assert 0.9 <= span <= 1.5, span  # 10 s of recording at 10x
    stamps = [orjson.loads(r.payload)["ts"] for r in got]
    assert [b - a for a, b in pairwise(stamps)] == [1000] * 10
    assert abs(stamps[-1] / 1000 - time.time()) < 1.0  # the last ts is when it went out
    assert result.shift_ms > 0


def test_keep_time_sends_the_recorded_payloads_unchanged(
    tmp_path: Path, broker_url: str, site: str, scenario_runs: dict[str, ScenarioRun]
) -> None:
    run = scenario_runs["cooking_smoke"]
    path = tmp_path / "cooking.jsonl"
    _write(run, path, site)
    with subscriber(broker_url, site) as sub, _publisher(broker_url, site) as pub:
        result = replay(lambda: read_jsonl(path), publisher=pub, speed=0, keep_time=True)
        got = sub.wait_for(len(run.messages))
    assert result.shift_ms == 0
    assert sorted(r.payload for r in got) == sorted(m.payload for m in run.messages)


def test_an_fsri_fire_replays_as_four_ceiling_detectors(broker_url: str, site: str) -> None:
    rows = FSRI.read_text().splitlines()
    header = rows[0].split(",")
    column = header.index(QUADRANT_A)
    with subscriber(broker_url, site) as sub, _publisher(broker_url, site) as pub:
        result = replay(lambda: read_fsri(FSRI, site=site), publisher=pub, speed=0, keep_time=False)
        got = sub.wait_for(4 * (len(rows) - 1))
    assert result.sent == 4 * (len(rows) - 1)
    assert {r.topic for r in got} == {f"fw/v1/{site}/{m.device_id}/reading" for m in DEFAULT_MAP}
    first_a = [orjson.loads(r.payload) for r in got if "/MS-0001/" in r.topic]
    assert first_a[0]["values"]["temperature_c"] == float(rows[1].split(",")[column])
    assert [b["ts"] - a["ts"] for a, b in pairwise(first_a)][:5] == [1000] * 5
    assert abs(first_a[-1]["ts"] / 1000 - time.time()) < 5


def test_a_mapping_sends_any_column_to_any_device() -> None:
    mapping = parse_map([f"{QUADRANT_A}=SD-0042:temperature_c"])
    first = next(iter(read_fsri(FSRI, site="zilai", mapping=mapping)))
    assert first.topic == "fw/v1/zilai/SD-0042/reading"
    assert set(orjson.loads(first.payload)["values"]) == {"temperature_c"}


def test_record_then_replay_gives_back_the_same_traffic(
    tmp_path: Path, broker_url: str, site: str, scenario_runs: dict[str, ScenarioRun]
) -> None:
    run = scenario_runs["bathroom_steam"]
    source, recording = tmp_path / "steam.jsonl", tmp_path / "recorded.jsonl"
    _write(run, source, site)
    stop, ready = threading.Event(), threading.Event()
    counted: list[int] = []
    target = MqttTarget(broker_url)
    recorder = threading.Thread(
        target=lambda: counted.append(
            record(target, site=site, out=recording, stop=stop, subscribed=ready)
        )
    )
    recorder.start()
    assert ready.wait(10)
    with _publisher(broker_url, site) as pub:
        replay(lambda: read_jsonl(source), publisher=pub, speed=0, keep_time=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(1 for _ in recording.open("rb")) < len(run.messages):
        time.sleep(0.05)
    stop.set()
    recorder.join(10)
    assert counted == [len(run.messages)]
    recorded = list(read_jsonl(recording))
    assert [r.t for r in recorded] == sorted(r.t for r in recorded)
    again = "t" + site[1:][::-1]  # another site of its own
    with subscriber(broker_url, again) as sub, _publisher(broker_url, again) as pub:
        replay(lambda: read_jsonl(recording), publisher=pub, speed=0, keep_time=True, site=again)
        got = sub.wait_for(len(run.messages))
    assert sorted((r.topic, r.payload) for r in got) == sorted(
        (with_site(m.topic, again), m.payload) for m in run.messages
    )


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b'{"t": 1, "topic": "fw/v1/x/D/reading", "payload": {"ts": 1}', "not JSON"),
        (b'{"t": 1, "topic": "fw/v1/x/D/reading"}', "exactly one of 'payload' and 'payload_b64'"),
        (b'{"t": -1, "topic": "fw/v1/x/D/reading", "payload": {}}', "'t' must be a number"),
        (b'{"t": 1, "topic": "fw/v1/x/D/#", "payload": {}}', "without wildcards"),
        (b'{"t": 1, "topic": "fw/v1/x/D/frame", "payload_b64": "!!"}', "not base64"),
        (b'{"t": 0.5, "topic": "fw/v1/x/D/reading", "payload": {}}', "comes before"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_a_bad_line_is_named_with_what_to_do(tmp_path: Path, line: bytes, says: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"t": 0, "topic": "fw/v1/x/D/reading", "payload": {"ts": 1}}\n'
        b'{"t": 1, "topic": "fw/v1/x/D/reading", "payload": {"ts": 2}}\n' + line + b"\n"
    )
    with pytest.raises(InputError, match="line 3") as caught:
        list(read_jsonl(path))
    assert says in str(caught.value)
    assert "line 3" in str(caught.value)


def test_the_console_script_explains_bad_input_and_publishes_nothing(
    tmp_path: Path, broker_url: str, site: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"t": 0, "topic": "fw/v1/x/D/reading", "payload": {"ts": 1}}\n{oops\n')
    env = {"PATH": "/usr/bin:/bin", "FIREWATCH_MQTT_URL": broker_url, "FIREWATCH_SITE": site}

    def firewatch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "firewatch", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    with subscriber(broker_url, "x") as sub:
        result = firewatch("replay", str(bad), "--speed", "0")
        assert result.returncode != 0
        assert "bad.jsonl, line 2: not JSON" in result.stderr
        assert "Fix or delete the line" in result.stderr and "Traceback" not in result.stderr
        time.sleep(0.3)
        assert sub.messages == []  # the whole file is checked before anything goes out
    unknown = firewatch(
        "replay", str(FSRI), "--map", "Quadrant E Temperature 25 mm Below Ceiling=SD-0001"
    )
    assert unknown.returncode != 0
    assert "no column 'Quadrant E Temperature 25 mm Below Ceiling'" in unknown.stderr
    assert "did you mean" in unknown.stderr and "--map 'COLUMN=DEVICE[:metric]'" in unknown.stderr
    kept = firewatch("replay", str(FSRI), "--keep-time")
    assert "drop" not in kept.stderr and "without --keep-time" in kept.stderr
