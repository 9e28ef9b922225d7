"""What a grid worker reads on the phone, in Chinese, whatever the channel: where (building,
address, map position), how bad (class, confirmed or not, the signals) and the field link to
answer through. Pure: the facts and the link go in, a ``Message`` comes out.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.alarms import Rule
from dispatch.model import Contact, Message

CLASS_ZH = {"fire": "火警", "prealarm": "预警", "supervisory": "监管", "trouble": "故障"}

RULE_ZH: dict[str, str] = {
    Rule.SMOKE_ALARM: "烟感报警",
    Rule.SMOKE_PREALARM: "烟雾预警",
    Rule.SMOKE_OBSCURATION: "烟雾浓度上升",
    Rule.HEAT_FIXED: "温度超限",
    Rule.HEAT_ROR: "温度快速上升",
    Rule.HEAT_ANOMALY: "温度异常",
    Rule.LEAKAGE: "剩余电流超限",
    Rule.LEAKAGE_TREND: "剩余电流上升",
    Rule.CABLE_TEMP: "线缆温度超限",
    Rule.CABLE_TEMP_ROR: "线缆温度快速上升",
    Rule.CABLE_FIRE: "线缆起火",
    Rule.ELECTRICAL_ALARM: "电气火灾报警",
    Rule.CAMERA_HOTSPOT: "热成像高温点",
    Rule.CAMERA_PREALARM: "热成像预警",
    Rule.CAMERA_SUDDEN_RISE: "热成像温度骤升",
    Rule.CAMERA_GROWTH: "热成像火点扩大",
    Rule.CAMERA_FIRE: "热成像火警",
    Rule.CAMERA_SMOKE: "视频识别烟雾",
    Rule.PANEL_FIRE: "消防主机火警",
    Rule.PANEL_SUPERVISORY: "消防设施监管报警",
    Rule.TAMPER: "设备被拆",
}

MAX_SIGNALS_SHOWN = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalFact:
    device_id: str
    rule: str
    alert_class: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentFacts:
    """The incident as a message tells it. ``building`` is None for a camera's target outside
    every building (then ``origin`` names the camera); the position is the building's, or
    that camera's."""

    incident_id: int
    building: str | None
    building_name: str | None
    address: str | None
    origin: str | None
    alert_class: str
    confirmed: bool
    lat: float | None
    lon: float | None
    signals: tuple[SignalFact, ...]


def place_of(facts: IncidentFacts) -> str:
    if facts.building is None:
        return f"摄像机 {facts.origin} 画面中（不在登记的建筑内）"
    return f"{facts.building_name}（{facts.building}）" if facts.building_name else facts.building


def position_of(lat: float | None, lon: float | None) -> str | None:
    """Degrees with hemispheres, and a geo: URI a phone's map opens."""
    if lat is None or lon is None:
        return None
    ns = "北纬" if lat >= 0 else "南纬"
    ew = "东经" if lon >= 0 else "西经"
    return f"{ns}{abs(lat):.5f}°，{ew}{abs(lon):.5f}°（geo:{lat:.6f},{lon:.6f}）"


def signals_of(signals: tuple[SignalFact, ...]) -> str:
    shown = [
        f"{s.device_id} {RULE_ZH.get(s.rule, s.rule)}（{CLASS_ZH.get(s.alert_class, '其他')}）"
        for s in signals[:MAX_SIGNALS_SHOWN]
    ]
    more = len(signals) - len(shown)
    return "；".join(shown) + (f"；另有{more}个信号" if more > 0 else "") if shown else "无"


def dispatch_message(
    facts: IncidentFacts, *, contact: Contact, link: str, escalated: bool
) -> Message:
    """The call to go and look: to the first on call, or, ``escalated``, to the next one
    because nobody before them accepted in time."""
    kind = CLASS_ZH.get(facts.alert_class, facts.alert_class)
    confirmed = "（多个设备确认）" if facts.confirmed else ""
    head = (
        f"【升级派单】前一位未在规定时间内接单，请{contact.name}立即前往核查"
        if escalated
        else f"【派单】请{contact.name}立即前往核查"
    )
    lines = [
        head,
        f"类别：{kind}{confirmed}",
        f"地点：{place_of(facts)}",
        f"地址：{facts.address or '未登记'}",
        f"位置：{position_of(facts.lat, facts.lon) or '未登记'}",
        f"信号：{signals_of(facts.signals)}",
        f"事件编号：{facts.incident_id}",
        f"现场链接（依次点 接单、出发、到达、结论）：{link}",
    ]
    return Message(
        title=f"{kind}{confirmed}：{place_of(facts)}",
        text="\n".join(lines),
        link=link,
        mention_phones=(contact.phone,) if contact.phone else (),
    )
