"""Who may move a claim along its state machine (A-02): the one rule the staff claims routes and the
agent console's chat view both use, so the console offers exactly the moves the API would accept.

Claims officers, supervisors and admins move claims; agents and auditors do not. Which moves exist
from a state is :data:`backend.claims.states.TRANSITIONS`; a frozen claim (closed, withdrawn,
anonymised) has none. Approving an amount keeps its own controls (``backend.claims.approvals``: the
product's ceiling, the second approver above the configured amount, four-eyes on payment).
"""

from __future__ import annotations

from backend.claims.models import Claim
from backend.claims.states import allowed_targets
from backend.staff.models import Role

CLAIM_MOVERS: frozenset[str] = frozenset({Role.CLAIMS_OFFICER, Role.SUPERVISOR, Role.ADMIN})


def may_move_claims(role: str) -> bool:
    """True when staff of ``role`` may move claims at all."""
    return role in CLAIM_MOVERS


def moves_for(role: str, claim: Claim) -> list[str]:
    """The states staff of ``role`` may move ``claim`` to now (sorted; empty when none)."""
    if not may_move_claims(role) or claim.closed_at is not None or claim.anonymised_at is not None:
        return []
    return allowed_targets(claim.state)
