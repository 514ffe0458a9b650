"""The complaint's vocabulary: states, categories, severities, their Chinese labels and the transitions."""

from __future__ import annotations

from enum import StrEnum

from backend.errors import ServiceError


class ComplaintState(StrEnum):
    """Where a complaint stands."""

    RECEIVED = "received"
    INVESTIGATING = "investigating"
    RESPONDED = "responded"
    CLOSED = "closed"


class ComplaintCategory(StrEnum):
    """What the complaint is about."""

    SERVICE_ATTITUDE = "service_attitude"
    CLAIM_SPEED = "claim_speed"
    CLAIM_DECISION = "claim_decision"
    INFORMATION_ERROR = "information_error"
    OTHER = "other"


class Severity(StrEnum):
    """How serious the complaint is."""

    NORMAL = "normal"
    SERIOUS = "serious"
    URGENT = "urgent"


STATE_LABELS = {"received": "受理", "investigating": "调查", "responded": "反馈", "closed": "结案"}
CATEGORY_LABELS = {
    "service_attitude": "服务态度",
    "claim_speed": "理赔速度",
    "claim_decision": "理赔结果",
    "information_error": "信息错误",
    "other": "其他",
}
SEVERITY_LABELS = {"normal": "一般", "serious": "严重", "urgent": "紧急"}

_S = ComplaintState
TRANSITIONS: dict[ComplaintState, frozenset[ComplaintState]] = {
    _S.RECEIVED: frozenset({_S.INVESTIGATING}),
    _S.INVESTIGATING: frozenset({_S.RESPONDED}),
    _S.RESPONDED: frozenset({_S.CLOSED, _S.INVESTIGATING}),
    _S.CLOSED: frozenset(),
}


def parse_enum(value: str, enum: type[StrEnum], field: str, message: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        raise ServiceError(
            f"invalid_{field}", message, detail={"field": field, "allowed": [e.value for e in enum]}
        ) from None
