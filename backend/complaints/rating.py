"""The complainant's own rating of how a complaint was handled (1–5 stars and an optional comment)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from backend.claims import validation as v
from backend.complaints.models import Complaint, ComplaintEvent
from backend.complaints.service import get_complaint
from backend.complaints.states import ComplaintState
from backend.db import utcnow
from backend.errors import Conflict
from backend.privacy.freetext import seal, set_free_text
from backend.security.crypto import FieldCipher

RATABLE = (ComplaintState.RESPONDED.value, ComplaintState.CLOSED.value)


def rate_complaint(
    session: Session,
    *,
    cipher: FieldCipher,
    complaint_id: int,
    rating: int,
    actor: str,
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Record the rating once the complaint was answered; rating again is refused (409)."""
    now = now or utcnow()
    who = v.actor(actor)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise v.invalid("rating", "请选择1到5颗星", "invalid_rating")
    text = v.text(comment, field="comment", label="评价", max_len=500, required=False)
    c = get_complaint(session, complaint_id=complaint_id)
    if c.state not in RATABLE:
        raise Conflict("complaint_not_answered", "投诉有了答复以后才能评价", detail={"state": c.state})
    if c.rated_at is not None:
        raise Conflict("already_rated", "您已经评价过了，谢谢")
    c.rating, c.rated_at, c.updated_at = rating, now, now
    set_free_text(c, "rating_comment", text, cipher=cipher)
    session.add(
        ComplaintEvent(
            complaint_id=c.id,
            complaint_version=c.version,
            at=now,
            actor=who,
            kind="rated",
            reason_enc=seal(
                f"{rating}星" + (f"：{text}" if text else ""),
                cipher=cipher,
                purpose=ComplaintEvent.FREE_TEXT["reason"][1],
            ),
        )
    )
    session.flush()
    return c
