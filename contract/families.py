"""Condition families: the rules that watch one condition of one device at rising severity.

A detector that warms, then warms fast, then passes its fixed threshold is one fire getting
worse, not three alarms: its heat alert moves up in place (anomaly, then rate of rise, then
fixed), each step in its log, and never moves down while open. The same holds for smoke
(pre-alarm, obscuration, the detector's own alarm), a cable (rate of rise, over temperature,
cable fire), leakage (trend, over the limit) and a camera's heat target (sudden rise,
pre-alarm, growth, hot spot, the camera's own fire detection). A camera's smoke detection stays
an alert of its own: smoke and heat are two independent views of a scene. Every other rule is a
family by itself.
"""

from __future__ import annotations

from contract.alarms import AlertClass, Rule

# Lowest to highest. A rule's rank is its place in its family's tuple.
FAMILIES: dict[str, tuple[Rule, ...]] = {
    "heat": (Rule.HEAT_ANOMALY, Rule.HEAT_ROR, Rule.HEAT_FIXED),
    "smoke": (Rule.SMOKE_PREALARM, Rule.SMOKE_OBSCURATION, Rule.SMOKE_ALARM),
    "cable": (Rule.CABLE_TEMP_ROR, Rule.CABLE_TEMP, Rule.CABLE_FIRE),
    "leakage": (Rule.LEAKAGE_TREND, Rule.LEAKAGE),
    "camera_heat": (
        Rule.CAMERA_SUDDEN_RISE,
        Rule.CAMERA_PREALARM,
        Rule.CAMERA_GROWTH,
        Rule.CAMERA_HOTSPOT,
        Rule.CAMERA_FIRE,
    ),
}

FAMILY: dict[Rule, str] = {rule: rule.value for rule in Rule} | {
    rule: name for name, rules in FAMILIES.items() for rule in rules
}
RANK: dict[Rule, int] = {rule: 0 for rule in Rule} | {
    rule: rank for rules in FAMILIES.values() for rank, rule in enumerate(rules)
}

# AlertClass lists the classes most severe first; an alert's and an incident's class only ever
# moves up.
_SEVERITY = {c.value: len(AlertClass) - i for i, c in enumerate(AlertClass)}


def family(rule: Rule) -> str:
    return FAMILY[rule]


def rank(rule: str) -> int:
    """A rule's place in its family; a rule this version no longer has ranks lowest."""
    try:
        return RANK[Rule(rule)]
    except ValueError:
        return -1


def severity(alert_class: str) -> int:
    """Higher is more severe: fire, pre-alarm, supervisory, trouble."""
    return _SEVERITY.get(alert_class, 0)


def higher_class(a: str, b: str) -> str:
    return a if severity(a) >= severity(b) else b
