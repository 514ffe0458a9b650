"""Acting on a customer's cases from the console's chat view (issue 10): file a complaint, report a
claim, move a claim along its state machine where the staff member's role allows, and tell the
customer the new number through the normal reply path.

Every action goes through the claims / complaints domain services, so the fields, the checks and the
errors are those of the bot, the mini-program and the staff API; the console duplicates no rule (who
may move a claim: ``backend.claims.roles``; the state machine: ``backend.claims.states``; approvals
keep their second-approver rule). Only the agent who has the chat, or a supervisor, may act; every
action is audited and published as a console event after commit. Services never commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

import redis
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.audit.service import record_event
from backend.calendar.service import WorkingCalendar
from backend.claims import approvals
from backend.claims import validation as v
from backend.claims.models import PURPOSE_INSURED_ID, Claim
from backend.claims.queries import get_claim
from backend.claims.roles import CLAIM_MOVERS, may_move_claims, moves_for
from backend.claims.service import report_claim, transition_claim
from backend.complaints.models import Complaint
from backend.complaints.service import file_complaint, get_complaint
from backend.errors import Forbidden, NotFound, ServiceError
from backend.handoff import copy
from backend.handoff.console import reply
from backend.handoff.console_views import customer_words
from backend.handoff.effects import emit
from backend.handoff.messages import add_message
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.service import read_summary
from backend.privacy.service import record_consent
from backend.products.service import ProductCatalog
from backend.security.crypto import CryptoError, FieldCipher
from backend.security.masking import mask_phone, scrub_text
from backend.staff.deps import StaffPrincipal
from backend.staff.models import Role
from config.settings import CONFIG_DIR

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
CREATED = {"complaint": "handoff.complaint_created", "claim": "handoff.claim_created"}
DISPOSITION_OF = {"complaint": "complaint_created", "claim": "claim_created"}
# The handoff's channel as the claims / complaints domain records it (the web chat page is "other").
CASE_CHANNELS = {"official_account": "official_account", "mini_program": "mini_program"}
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
MAX_PREFILL = 1000


def case_channel(handoff_channel: str) -> str:
    """The channel a case created from this chat records."""
    return CASE_CHANNELS.get(handoff_channel, v.Channel.OTHER.value)


def customer_openid(row: HandoffRequest) -> str | None:
    """The customer's id on the chat's channel, linking the case to them (bot, mini-program)."""
    return row.user_id if row.user_id and len(row.user_id) <= 64 else None


def may_act(row: HandoffRequest, staff: StaffPrincipal) -> bool:
    """The agent who has the chat now, or a supervisor / admin."""
    if staff.role in SUPERVISORS:
        return True
    return row.status == "agent" and row.agent_id == staff.id


def ensure_may_act(session: Session, row: HandoffRequest, staff: StaffPrincipal, action: str,
                   now: dt.datetime) -> None:
    """Forbidden (audited: the caller commits the refusal) unless :func:`may_act` (A-02)."""
    if not may_act(row, staff):
        record_event(session, actor=staff.username, action=action, object_type="handoff", object_id=row.id,
                     ip=staff.ip, result="refused: not_your_conversation", at=now)
        raise Forbidden("not_your_conversation", "只有正在接待这个会话的客服（或主管）才能办理",
                        detail={"handoff_id": row.id})


def _done(session: Session, row: HandoffRequest, staff: StaffPrincipal, kind: str, number: str,
          case_id: int, *, cipher: FieldCipher, now: dt.datetime, client: redis.Redis | None) -> None:
    record_event(session, actor=staff.username, action=CREATED[kind], object_type="handoff",
                 object_id=row.id, field=kind, purpose=number, ip=staff.ip, at=now)
    label = "投诉" if kind == "complaint" else "理赔报案"
    add_message(session, row=row, direction="note", text=f"已登记{label}：{number}", cipher=cipher, now=now,
                staff_id=staff.id)
    row.updated_at = now
    emit(session, client, "handoff.case_created",
         {"handoff_id": row.id, "kind": kind, "case_id": case_id, "staff_id": staff.id})


# --- complaint ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComplaintForm:
    """What the agent fills in (the bot's complaint fields)."""

    category: str
    content: str
    contact_phone: str
    severity: str = "normal"
    complainant_name: str | None = None
    related_case_no: str | None = None


def file_complaint_from_chat(session: Session, *, row: HandoffRequest, staff: StaffPrincipal,
                             form: ComplaintForm, cipher: FieldCipher, catalog: ProductCatalog,
                             calendar: WorkingCalendar, now: dt.datetime,
                             client: redis.Redis | None = None) -> Complaint:
    """File (受理) a complaint for the chat's customer; the domain computes its deadlines."""
    c = file_complaint(session, cipher=cipher, catalog=catalog, calendar=calendar, category=form.category,
                       severity=form.severity, channel=case_channel(row.channel),
                       complainant_name=form.complainant_name, contact_phone=form.contact_phone,
                       content=form.content, actor=staff.username, related_case_no=form.related_case_no,
                       openid=customer_openid(row), now=now)
    _done(session, row, staff, "complaint", c.complaint_no, c.id, cipher=cipher, now=now, client=client)
    return c


# --- claim report ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimForm:
    """What the agent fills in (the bot's and the mini-program's claim fields)."""

    claim_type: str
    insured_name: str
    reporter_phone: str
    reporter_relation: str
    accident_date: dt.date
    accident_type: str
    description: str
    insured_id_number: str | None = None
    consent_confirmed: bool = False
    place: str | None = None
    hospital: str | None = None
    product_id: str | None = None
    idempotency_key: str | None = None


def report_claim_from_chat(session: Session, *, row: HandoffRequest, staff: StaffPrincipal, form: ClaimForm,
                           cipher: FieldCipher, catalog: ProductCatalog, calendar: WorkingCalendar,
                           now: dt.datetime, client: redis.Redis | None = None) -> Claim:
    """Report a claim for the chat's customer. An ID number is used only with the customer's consent
    given in the chat, which the agent confirms and the consent ledger records (D-04, C-02)."""
    channel = case_channel(row.channel)
    openid = customer_openid(row)
    number = (form.insured_id_number or "").strip() or None
    if number is not None:
        number = v.id_number(number, field="insured_id_number")  # the domain's own check, before consent
        v.phone_number(form.reporter_phone, field="reporter_phone")
        if not form.consent_confirmed:
            raise ServiceError("consent_unconfirmed",
                               "用身份证号报案要先征得客户同意：请在聊天里问过客户，再勾选“客户已同意”",
                               detail={"field": "consent_confirmed"}, status_code=422)
        record_consent(session, category="id_number", channel=channel, actor=staff.username, user_id=openid,
                       id_bidx=cipher.blind_index(number, purpose=PURPOSE_INSURED_ID), now=now)
    key = form.idempotency_key.strip() if form.idempotency_key else ""
    claim = report_claim(
        session, cipher=cipher, catalog=catalog, calendar=calendar,
        product_id=catalog.get(form.product_id).id, claim_type=form.claim_type,
        insured_name=form.insured_name, insured_id_number=number, reporter_phone=form.reporter_phone,
        reporter_relation=form.reporter_relation, accident_date=form.accident_date,
        accident_type=form.accident_type, description=form.description, channel=channel,
        actor=staff.username, place=form.place, hospital=form.hospital,
        idempotency_key=f"console{row.id}:{key}"[:100] if key else None, now=now, reporter_openid=openid)
    _done(session, row, staff, "claim", claim.case_no, claim.id, cipher=cipher, now=now, client=client)
    return claim


# --- moving a claim ------------------------------------------------------------------------------------

def customer_claim(session: Session, row: HandoffRequest, claim_id: int) -> Claim:
    """A claim the chat's customer reported (the ones the chat view lists); NotFound otherwise."""
    claim = get_claim(session, claim_id=claim_id)
    if claim.reporter_openid is None or claim.reporter_openid != row.user_id:
        raise NotFound("claim_not_found", "这位客户没有这个案件")
    return claim


def customer_complaint(session: Session, row: HandoffRequest, complaint_id: int) -> Complaint:
    """A complaint the chat's customer filed; NotFound otherwise."""
    c = get_complaint(session, complaint_id=complaint_id)
    if c.openid is None or c.openid != row.user_id:
        raise NotFound("complaint_not_found", "这位客户没有这条投诉")
    return c


def claim_moves(session: Session, role: str, claim_id: int) -> list[str]:
    """The states staff of ``role`` may move this claim to now (the claims domain's rule)."""
    claim = session.get(Claim, claim_id)
    return moves_for(role, claim) if claim is not None else []


@dataclass(frozen=True)
class Move:
    """A requested state change; approving carries the amount and the facts it rests on."""

    to_state: str
    reason: str | None = None
    expected_version: int | None = None
    approved_amount_fen: int | None = None
    facts: approvals.BenefitFacts | None = None


def move_claim_from_chat(session: Session, *, row: HandoffRequest, staff: StaffPrincipal, claim_id: int,
                         move: Move, cipher: FieldCipher, catalog: ProductCatalog, calendar: WorkingCalendar,
                         second_approval_above_fen: int, now: dt.datetime,
                         client: redis.Redis | None = None) -> tuple[Claim, str]:
    """Move the customer's claim as the claims domain allows this role; returns the claim and
    ``done`` or ``pending`` (an amount above the limit waits for a second approver)."""
    claim = customer_claim(session, row, claim_id)
    if not may_move_claims(staff.role):
        record_event(session, actor=staff.username, action="handoff.claim_move", object_type="claim",
                     object_id=claim.id, field="state", purpose=f"handoff:{row.id} to:{move.to_state}",
                     ip=staff.ip, result="refused: forbidden", at=now)
        raise Forbidden("forbidden", "您的岗位不能改理赔案件的状态，请转给理赔专员或主管",
                        detail={"allowed_roles": sorted(CLAIM_MOVERS)})
    before = claim.state
    outcome = "done"
    if move.to_state == "approved":
        out = approvals.propose_approval(
            session, cipher=cipher, calendar=calendar, catalog=catalog,
            second_approval_above_fen=second_approval_above_fen, claim_id=claim.id,
            amount_fen=move.approved_amount_fen, facts=move.facts or approvals.BenefitFacts(),
            reason=move.reason, actor=staff.username, ip=staff.ip, expected_version=move.expected_version,
            now=now)
        outcome = "pending" if out.approval.status == "pending" else "done"
    else:
        transition_claim(session, cipher=cipher, calendar=calendar, claim_id=claim.id, to_state=move.to_state,
                         actor=staff.username, reason=move.reason, expected_version=move.expected_version,
                         now=now)
    record_event(session, actor=staff.username, action="handoff.claim_move", object_type="claim",
                 object_id=claim.id, field="state", purpose=f"handoff:{row.id} {before}->{move.to_state}",
                 ip=staff.ip, result="ok" if outcome == "done" else "pending", at=now)
    emit(session, client, "handoff.claim_moved",
         {"handoff_id": row.id, "claim_id": claim.id, "to": move.to_state, "outcome": outcome})
    return claim, outcome


# --- telling the customer --------------------------------------------------------------------------

def _cn_date(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def confirmation_text(session: Session, row: HandoffRequest, kind: str, case_id: int) -> str:
    """The plain sentence that tells the customer the number (copy keys ``handoff_*``)."""
    if kind == "complaint":
        c = customer_complaint(session, row, case_id)
        return copy.text("handoff_complaint_filed", number=c.complaint_no,
                         ack_hours=int(c.standards["complaint_ack_hours"]),
                         date=_cn_date(c.resolution_due_date))
    if kind == "claim":
        return copy.text("handoff_claim_reported", case_no=customer_claim(session, row, case_id).case_no)
    raise NotFound("not_found", "没有这种案件")


def send_confirmation(session: Session, *, row: HandoffRequest, staff: StaffPrincipal, kind: str,
                      case_id: int, cipher: FieldCipher, now: dt.datetime,
                      client: redis.Redis | None = None) -> HandoffMessage:
    """Send the confirmation as the agent's reply: the delivery job sends it, counted against
    WeChat's customer-service message quota like every reply."""
    text = confirmation_text(session, row, kind, case_id)
    return reply(session, handoff_id=row.id, staff_id=staff.id, text=text, now=now, cipher=cipher,
                 redis=client, supervisor=staff.role in SUPERVISORS)


# --- what the side panel shows ---------------------------------------------------------------------

def default_disposition(session: Session, row: HandoffRequest) -> str | None:
    """``complaint_created`` / ``claim_created`` once a case was created from this chat (the latest)."""
    action = session.scalar(
        select(AuditRecord.action).where(AuditRecord.object_type == "handoff",
                                         AuditRecord.object_id == str(row.id),
                                         AuditRecord.action.in_(tuple(CREATED.values())),
                                         AuditRecord.result == "ok")
        .order_by(AuditRecord.seq.desc()).limit(1))
    for kind, name in CREATED.items():
        if action == name:
            return DISPOSITION_OF[kind]
    return None


@functools.lru_cache(maxsize=1)
def _dialogue_tables() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "dialogue.yaml").read_text(encoding="utf-8"))
    return {k: data.get(k) or {} for k in ("complaint_category_words", "accident_labels", "relation_labels")}


def labels(table: str) -> dict[str, str]:
    """The dialogue's labels (``accident_labels``, ``relation_labels``): the bot's keys and words."""
    return {str(k): str(v) for k, v in _dialogue_tables()[table].items()}


def guess_category(text: str) -> str:
    """The complaint category the bot would guess from the customer's words."""
    for category, words in _dialogue_tables()["complaint_category_words"].items():
        if any(str(w) in text for w in words):
            return str(category)
    return "other"


def customer_texts(session: Session, row: HandoffRequest, *, cipher: FieldCipher) -> list[str]:
    """What the customer wrote in this chat (bot turns and messages to the agent), oldest first; when
    nothing is stored, the (masked) summary of what they wrote when asking for a person."""
    said = customer_words(session, row, cipher=cipher)
    if said:
        return said
    try:
        return [read_summary(row, cipher=cipher)]
    except CryptoError:
        return []


def chat_phone(texts: list[str]) -> str | None:
    """The last mobile number the customer wrote in the chat."""
    phones = [m.group(0) for t in texts for m in _PHONE.finditer(t)]
    return phones[-1] if phones else None


def phone_or_chat(given: str | None, use_chat_phone: bool, texts: list[str], *, field: str) -> str:
    """The phone the agent typed, or (asked for) the one the customer gave in the chat: the console
    shows it masked and never sends it to the browser in clear."""
    if given and given.strip():
        return given
    if use_chat_phone:
        found = chat_phone(texts)
        if found is None:
            raise ServiceError("no_phone_in_chat", "聊天里没有找到客户的电话，请直接填写",
                               detail={"field": field})
        return found
    return ""


def prefill(texts: list[str], *, reason: str = "") -> dict[str, str | None]:
    """The forms' prefill from what the customer wrote: their words (numbers masked), the last phone
    they gave (masked), the complaint category the bot would guess, and the severity it would give
    (serious when the customer was handed over angry)."""
    content = "\n".join(t for t in texts if t.strip())[-MAX_PREFILL:]
    return {"content": scrub_text(content), "contact_phone_masked": mask_phone(chat_phone(texts)),
            "category": guess_category(content), "severity": "serious" if reason == "angry" else "normal"}
