"""What a grid worker may answer through a field link, and what each answer does to the
dispatch: pure, judged against the dispatch as it is locked.

A dispatch moves forward only: notifying → accepted → on my way → arrived → done (the verdict).
An answer the dispatch is already at or past is a repeat (the page sent it again after a lost
reply, or from its offline queue): answered as done, changing nothing. A step may skip ahead (a
worker who arrived without tapping "on my way"); the skipped step's time stays empty rather
than invented. Once someone has answered, the dispatch is theirs: another person's answer is
refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Step(StrEnum):
    ACCEPT = "accept"
    ON_MY_WAY = "on_my_way"
    ARRIVED = "arrived"
    VERDICT = "verdict"


class Verdict(StrEnum):
    REAL_FIRE = "real_fire"  # the fire brigade (119) called
    FALSE_ALARM = "false_alarm"  # with a cause
    NO_ACCESS = "no_access"  # could not get in


# The causes each verdict may name; a false alarm must name one. Labels are the field page's.
CAUSES: dict[Verdict, dict[str, str]] = {
    Verdict.REAL_FIRE: {
        "ebike_charging": "电动车充电",
        "electrical": "电气线路",
        "cooking": "厨房用火",
        "open_flame": "明火（烟头、祭祀、焚烧）",
        "other": "其他",
    },
    Verdict.FALSE_ALARM: {
        "cooking_fumes": "烹饪油烟",
        "smoking": "吸烟",
        "steam": "水汽",
        "dust": "粉尘",
        "insects": "虫子",
        "device_fault": "设备故障",
        "testing": "测试或维修",
        "other": "其他",
    },
    Verdict.NO_ACCESS: {
        "locked": "门锁着",
        "no_answer": "无人应答",
        "blocked": "通道堵塞",
        "other": "其他",
    },
}

# The dispatch's state after each step, and how far along each state is.
STATE_AFTER = {
    Step.ACCEPT: "accepted",
    Step.ON_MY_WAY: "on_my_way",
    Step.ARRIVED: "arrived",
    Step.VERDICT: "done",
}
_RANK = {"notifying": 0, "accepted": 1, "on_my_way": 2, "arrived": 3, "done": 4}
# The column each step stamps.
STAMPS = {
    Step.ACCEPT: "accepted_at",
    Step.ON_MY_WAY: "on_my_way_at",
    Step.ARRIVED: "arrived_at",
    Step.VERDICT: "verdict_at",
}


class Judgement(StrEnum):
    APPLY = "apply"
    REPEAT = "repeat"  # already at or past this step: nothing to do
    TAKEN = "taken"  # another person answered first


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    step: Step
    verdict: Verdict | None = None
    cause: str | None = None
    note: str | None = None


def cause_problem(verdict: Verdict | None, cause: str | None) -> str | None:
    """Why a verdict and cause do not go together, or None."""
    if verdict is None:
        return "a cause goes with a verdict" if cause is not None else None
    known = CAUSES[verdict]
    if cause is None:
        return "a false alarm needs its cause" if verdict is Verdict.FALSE_ALARM else None
    if cause not in known:
        return f"cause of {verdict.value} must be one of {', '.join(known)}"
    return None


def judge(*, state: str, answered_by: str | None, person_id: str, step: Step) -> Judgement:
    """``state``: the dispatch's, open (a closed one's links are refused before this);
    ``answered_by``: whoever answered it first, None while it is still notifying."""
    if answered_by is not None and answered_by != person_id:
        return Judgement.TAKEN
    if _RANK[STATE_AFTER[step]] <= _RANK[state]:
        return Judgement.REPEAT
    return Judgement.APPLY
