"""The claim state machine: states, Chinese labels and the allowed transitions (one table)."""

from __future__ import annotations

from enum import StrEnum


class ClaimState(StrEnum):
    """Where a claim stands."""

    REPORTED = "reported"
    MATERIALS_PENDING = "materials_pending"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


STATE_LABELS: dict[ClaimState, str] = {
    ClaimState.REPORTED: "已报案",
    ClaimState.MATERIALS_PENDING: "等待材料",
    ClaimState.UNDER_REVIEW: "审核中",
    ClaimState.APPROVED: "已同意赔付",
    ClaimState.REJECTED: "不予赔付",
    ClaimState.PAID: "已付款",
    ClaimState.CLOSED: "已结案",
    ClaimState.WITHDRAWN: "已撤案",
}

S = ClaimState
TRANSITIONS: dict[ClaimState, frozenset[ClaimState]] = {
    S.REPORTED: frozenset({S.MATERIALS_PENDING, S.WITHDRAWN}),
    S.MATERIALS_PENDING: frozenset({S.UNDER_REVIEW, S.WITHDRAWN}),
    S.UNDER_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.MATERIALS_PENDING, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.PAID, S.WITHDRAWN}),
    S.PAID: frozenset({S.CLOSED}),
    S.REJECTED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

# Open = the insurer still owes the customer something; withdrawal is allowed from these.
OPEN_STATES: frozenset[ClaimState] = frozenset({S.REPORTED, S.MATERIALS_PENDING, S.UNDER_REVIEW, S.APPROVED})
# A reason is required to enter these states.
REASON_REQUIRED: frozenset[ClaimState] = frozenset({S.REJECTED, S.WITHDRAWN})


def allowed_targets(state: str) -> list[str]:
    """The states a claim in ``state`` may move to (sorted, for error details)."""
    return sorted(TRANSITIONS[ClaimState(state)])


def label(state: str) -> str:
    """The Chinese label of a state."""
    return STATE_LABELS[ClaimState(state)]
