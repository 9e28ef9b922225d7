"""The console's two catalogues: the same keys and placeholders in each, every key the code
names present, and a label for every code the server sends (classes, states, rules, causes, log
steps, kinds, …), so no operator meets an English code in a Chinese console."""

from __future__ import annotations

import re
from typing import Any

from alerts.lifecycle import Action, Cause, State
from api.routers.dashboard import DASHBOARD_DIR
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from dispatch.model import ChannelKind
from dispatch.roster_schemas import PersonRole
from dispatch.steps import CAUSES, STAMPS, Step, Verdict
from dispatch.video import VideoCheck, Why
from registry.schemas import DeviceStatus
from tests.dashboard.layout import LANGUAGES, catalogue

CATALOGUES = {lang: catalogue(lang) for lang in LANGUAGES}
CODE = sorted((DASHBOARD_DIR / "js").glob("*.js"))
# A key is a string literal `group.name`; storage keys (firewatch.…) are not.
KEY = re.compile(r'"([a-z][A-Za-z0-9]*\.[A-Za-z0-9_]+)"')
LABEL = re.compile(r'\blabel\("(\w+)",')
PLACEHOLDER = re.compile(r"\{(\w+)\}")

# What the server may send for each group of labels the code looks up with label(group, code).
LOG_STEPS = {
    *Action,
    "raise",
    "condition",
    *("open", "confirm", "join", "update", "merge"),  # an incident's own (store/incidents.py)
    *("camera_goto", "video_check"),  # dispatch/cameras.py
    *("dispatch", "escalation_exhausted", "revoke", "call_119", "photo"),  # dispatch
    "delivery_failed",  # store/deliveries.py
    *Step,
}
CODES: dict[str, set[str]] = {
    "class": set(AlertClass),
    "buildingState": {*AlertClass, "offline", "normal"},
    "state": set(State),
    "cause": set(Cause),
    "action": {Action.ACK, Action.CLAIM, Action.SHELVE, Action.UNSHELVE, Action.RESOLVE, "comment"},
    "rule": set(Rule),
    "log": {str(step) for step in LOG_STEPS},
    "kind": set(Kind),
    "deviceStatus": set(DeviceStatus),
    "deviceState": {"online", "offline", "fault", "maintenance", "commissioning"},
    "suppressed": {"maintenance", "commissioning", "registered", "test"},
    "cameraWhy": set(Why),
    "stream": {"rtsp", "hls", "web"},
    "videoCheck": set(VideoCheck),
    "dispatchState": {"notifying", "accepted", "on_my_way", "arrived", "done", "revoked"},
    "dispatchStep": set(STAMPS.values()),
    "milestone": {
        *("detected", "acknowledged", "video_checked", "dispatched"),
        *("accepted", "arrived", "verdict", "closed"),
    },
    "verdict": set(Verdict),
    "fieldCause": {cause for causes in CAUSES.values() for cause in causes},
    "role": set(PersonRole),
    "channel": set(ChannelKind),
    "delivery": {"pending", "sent", "failed", "cancelled"},
    "metric": {
        *("obscuration_pct_per_m", "temperature_c", "residual_current_ma", "cable_temp_c"),
        *("current_a", "voltage_v", "battery_pct", "rssi_dbm"),
        *("frame_max_temp_c", "frame_avg_temp_c", "frame_min_temp_c"),
        *("max_temp_c", "avg_temp_c", "min_temp_c"),
    },
}


def _forms(value: Any) -> list[str]:
    return list(value.values()) if isinstance(value, dict) else [value]


def _used_keys() -> set[str]:
    keys = set()
    for path in CODE:
        keys |= {k for k in KEY.findall(path.read_text()) if not k.startswith("firewatch.")}
    page = (DASHBOARD_DIR / "index.html").read_text()
    keys |= set(re.findall(r'data-i18n="([^"]+)"', page))
    keys |= set(re.findall(r":([\w.]+)", " ".join(re.findall(r'data-i18n-attr="([^"]+)"', page))))
    return keys


def test_both_catalogues_have_the_same_keys() -> None:
    zh, en = (set(CATALOGUES[lang]) for lang in LANGUAGES)
    assert sorted(zh - en) == [], "in zh-CN only"
    assert sorted(en - zh) == [], "in en only"


def test_each_entry_names_the_same_placeholders_in_both() -> None:
    problems = []
    for key, en in CATALOGUES["en"].items():
        zh = CATALOGUES["zh-CN"][key]
        forms = _forms(en) + _forms(zh)
        if isinstance(zh, dict) != isinstance(en, dict):
            problems.append(f"{key}: plural forms in one language only")
        elif isinstance(en, dict) and not ({"other"} <= set(zh) <= {"one", "other"} >= set(en)):
            problems.append(f"{key}: plural forms are one and other, other required")
        if len({frozenset(PLACEHOLDER.findall(text)) for text in forms}) != 1:
            problems.append(f"{key}: placeholders differ between forms or languages")
        if not all(text.strip() for text in forms):
            problems.append(f"{key}: empty")
    assert problems == []


def test_every_key_the_code_uses_is_in_the_catalogues() -> None:
    used = _used_keys()
    assert len(used) > 100  # the scan found the code's keys
    assert sorted(used - set(CATALOGUES["en"])) == []


def test_every_entry_is_used() -> None:
    """A key no code asks for is a stale translation: labelled groups are used by their code."""
    used = _used_keys()
    groups = {g for path in CODE for g in LABEL.findall(path.read_text())}
    stale = [k for k in CATALOGUES["en"] if k not in used and k.split(".")[0] not in groups]
    assert stale == []


def test_every_code_the_server_sends_has_a_label_in_each_language() -> None:
    groups = {g for path in CODE for g in LABEL.findall(path.read_text())}
    assert groups == set(CODES), "a new label group needs its codes listed here"
    for lang, entries in CATALOGUES.items():
        missing = sorted(
            f"{g}.{code}"
            for g, codes in CODES.items()
            for code in codes
            if f"{g}.{code}" not in entries
        )
        assert missing == [], lang


def test_the_chinese_catalogue_is_chinese() -> None:
    """Every entry with words holds Chinese, except names kept as they are (HLS, Webhook)."""
    latin_only = [
        key
        for key, value in CATALOGUES["zh-CN"].items()
        for text in _forms(value)
        if re.search(r"[A-Za-z]{3}", PLACEHOLDER.sub("", text))
        and not re.search(r"[\u4e00-\u9fff]", text)
    ]
    assert sorted(latin_only) == ["channel.webhook", "lang.switch", "stream.hls"]
