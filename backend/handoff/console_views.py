"""Read models of the console (no state changes): one conversation's whole history with the bot turns,
the customer's masked profile and cases, a customer's label for lists, and an agent's groups."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.models import Claim
from backend.complaints.models import Complaint
from backend.conversations.turn_models import ConversationTurn
from backend.conversations.turns import turn_text
from backend.handoff.messages import history, read_text
from backend.handoff.models import GROUPS, AgentProfile, HandoffMessage, HandoffRequest
from backend.security.crypto import CryptoError, FieldCipher
from backend.security.masking import scrub_text

BOT_TURNS = 40  # the bot turns shown before the handoff (most recent)
CASES = 10


def _bot_turns(db: Session, row: HandoffRequest, cipher: FieldCipher) -> list[dict[str, Any]]:
    return bot_turns(db, channel=row.channel, user_id=row.user_id, until=row.queued_at or row.created_at,
                     cipher=cipher)


def bot_turns(db: Session, *, channel: str, user_id: str, until: dt.datetime | None,
              cipher: FieldCipher) -> list[dict[str, Any]]:
    """The customer's most recent bot turns up to ``until`` (all when None), oldest first, as lines
    of the chat view (texts as stored: numbers masked)."""
    stmt = select(ConversationTurn).where(ConversationTurn.channel == channel,
                                          ConversationTurn.user_id == user_id)
    if until is not None:
        stmt = stmt.where(ConversationTurn.at <= until)
    stmt = stmt.order_by(ConversationTurn.at.desc(), ConversationTurn.id.desc()).limit(BOT_TURNS)
    turns = list(db.scalars(stmt))
    out: list[dict[str, Any]] = []
    for t in reversed(turns):
        try:
            said = turn_text(t, "user_text", cipher=cipher)
            answered = turn_text(t, "reply_text", cipher=cipher)
        except CryptoError:
            said, answered = "（无法解密）", ""
        if said:
            out.append({"id": f"t{t.id}", "direction": "customer", "text": said, "at": t.at,
                        "intent": t.intent, "confidence": t.confidence})
        if answered:
            out.append({"id": f"b{t.id}", "direction": "bot", "text": answered, "at": t.at,
                        "intent": t.intent, "confidence": t.confidence})
    return out


def _messages(db: Session, row: HandoffRequest, cipher: FieldCipher) -> list[dict[str, Any]]:
    rows = history(db, row.id)
    return [{"id": f"m{m.id}", "direction": m.direction, "text": scrub_text(_clear(m, cipher)),
             "at": m.created_at, "staff": m.staff_id, "delivery": m.delivery,
             "delivery_error": m.delivery_error, "kind": m.kind or "text", "image_url": picture_url(m)}
            for m in rows]


def picture_url(m: HandoffMessage) -> str | None:
    """Where the console loads a picture message (its cookie-authenticated, audited route)."""
    if m.kind != "image" or not m.attachment_key:
        return None
    return f"/api/console/conversations/{m.handoff_id}/pictures/{m.id}"


def _clear(m: HandoffMessage, cipher: FieldCipher) -> str:
    """The message in clear. Staff see it through `scrub_text` (ID, phone and card numbers masked, as
    in the bot's stored turns); only the case actions' server-side pick-up reads the clear number."""
    try:
        return read_text(m, cipher=cipher)
    except CryptoError:
        return "（无法解密）"


def customer_words(db: Session, row: HandoffRequest, *, cipher: FieldCipher) -> list[str]:
    """What the customer wrote, oldest first: their bot turns (stored masked) and their messages to the
    agent in clear, for the case actions' server-side pick-up of a phone number. Never sent to a
    browser as it is."""
    said = [str(m["text"]) for m in _bot_turns(db, row, cipher) if m["direction"] == "customer"]
    return said + [_clear(m, cipher) for m in history(db, row.id) if m.direction == "customer"]


def conversation_view(db: Session, row: HandoffRequest, *, cipher: FieldCipher) -> dict[str, Any]:
    """Messages (bot turns first, then the handoff's), the masked profile and the customer's cases."""
    claims = list(db.scalars(select(Claim).where(Claim.reporter_openid == row.user_id)
                             .order_by(Claim.id.desc()).limit(CASES)))
    complaints = list(db.scalars(select(Complaint).where(Complaint.openid == row.user_id)
                                 .order_by(Complaint.id.desc()).limit(CASES)))
    names = [c.insured_name_masked for c in claims] + [c.complainant_name_masked for c in complaints]
    return {
        "messages": _bot_turns(db, row, cipher) + _messages(db, row, cipher),
        "customer": {"name": names[0] if names else None},
        "claims": [{"id": c.id, "status": c.state, "title": f"{c.case_no} {c.claim_type}",
                    "created_at": getattr(c, "created_at", None)} for c in claims],
        "complaints": [{"id": c.id, "status": c.state, "title": f"{c.complaint_no} {c.category}",
                        "created_at": getattr(c, "created_at", None)} for c in complaints],
    }


def customer_label_for(channel: str, user_id: str) -> str:
    """A label for a customer that says nothing about them (no openid, no name)."""
    kind = "微信" if channel == "official_account" else "网页"
    digest = hashlib.sha256(f"{channel}:{user_id}".encode()).hexdigest()[:6]
    return f"{kind}客户 {digest}"


def customer_label(row: HandoffRequest) -> str:
    """:func:`customer_label_for` a handoff's customer."""
    return customer_label_for(row.channel, row.user_id)


def known_name(db: Session, user_id: str) -> str | None:
    """The masked name the chat view shows (the customer's latest claim, else complaint), if any."""
    name = db.scalar(select(Claim.insured_name_masked).where(Claim.reporter_openid == user_id)
                     .order_by(Claim.id.desc()).limit(1))
    return name or db.scalar(select(Complaint.complainant_name_masked).where(Complaint.openid == user_id)
                             .order_by(Complaint.id.desc()).limit(1))


def agent_groups(db: Session, staff_id: int) -> list[str]:
    profile = db.get(AgentProfile, staff_id)
    return list(profile.groups or ()) if profile is not None else list(GROUPS)
