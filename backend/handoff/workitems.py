"""Staff work items (``WORK_ITEM_REASONS``): call-backs left by customers, follow-ups of low ratings, and
requests to change a phone number, bank card or address. They are ``HandoffRequest`` rows that never
wait in the chat queue: they show in the console's 待办 list once due (a call-back left outside service
hours from the next working morning, its job row's due time), one person takes one (the chat queue's
conditional UPDATE, :func:`backend.handoff.console.take`), and it is finished with an outcome and a
note (:func:`backend.handoff.console.close`, which asks no rating for a work item). Follow-ups of low
ratings are for supervisors; the others for agents of the item's skill group."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, and_, cast, select
from sqlalchemy.orm import Session

from backend.errors import Conflict, Forbidden, NotFound
from backend.handoff.models import WORK_ITEM_REASONS, HandoffRequest
from backend.handoff.queue import WORK_ITEM_KIND
from backend.handoff.service import read_payload, read_summary
from backend.jobs.models import Job
from backend.security.crypto import CryptoError, FieldCipher
from backend.security.masking import mask_bank_account, mask_phone, scrub_text

# What a work item is, in the console's words.
KIND_LABELS = {"callback": "回电", "follow_up": "差评跟进", "info_update": "资料变更"}
# How a work item ended (the request's disposition) and how the console says it.
OUTCOMES = {"called_back": "已回电", "unreachable": "联系不上", "resolved": "已处理"}
SUPERVISOR_ONLY = frozenset({"follow_up"})


@dataclass(frozen=True)
class WorkItem:
    row: HandoffRequest
    due_at: dt.datetime


def may_see(row: HandoffRequest, *, supervisor: bool, staff_id: int, groups: list[str]) -> bool:
    """Supervisors see every work item; an agent those of their groups that are not a supervisor's
    (low-rating follow-ups), and any they have taken."""
    if supervisor or row.agent_id == staff_id:
        return True
    return row.reason not in SUPERVISOR_ONLY and row.skill_group in groups


def open_items(
    session: Session, *, now: dt.datetime, staff_id: int, supervisor: bool, groups: list[str]
) -> list[WorkItem]:
    """The open work items this staff member may see, oldest due first: those waiting to be taken that
    are due (``now`` past their job row's due time; no job row: due when left), and those taken by
    them (a supervisor: by anyone)."""
    h = HandoffRequest
    taken = h.status == "agent" if supervisor else and_(h.status == "agent", h.agent_id == staff_id)
    rows = session.execute(
        select(h, Job.due_at)
        .outerjoin(Job, and_(Job.kind == WORK_ITEM_KIND, Job.key == cast(h.id, String)))
        .where(h.reason.in_(WORK_ITEM_REASONS), (h.status == "queued") | taken)
    ).all()
    items = [WorkItem(row, due or row.queued_at or row.created_at) for row, due in rows]
    visible = [i for i in items if may_see(i.row, supervisor=supervisor, staff_id=staff_id, groups=groups)
               and (i.row.status == "agent" or i.due_at <= now)]
    return sorted(visible, key=lambda i: (i.due_at, i.row.id))


def due_at(session: Session, row: HandoffRequest) -> dt.datetime:
    """When a work item shows in the 待办 list (its job row's due time, else when it was left)."""
    job = session.scalar(select(Job.due_at).where(Job.kind == WORK_ITEM_KIND, Job.key == str(row.id)))
    return job or row.queued_at or row.created_at


def checked(session: Session, row: HandoffRequest, *, now: dt.datetime, staff_id: int, supervisor: bool,
            groups: list[str]) -> HandoffRequest:
    """The work item, when this staff member may act on it: 403 not theirs to see, 409 not due yet."""
    if row.reason not in WORK_ITEM_REASONS:
        raise NotFound("not_a_work_item", "这不是一条待办", detail={"handoff_id": row.id})
    if not may_see(row, supervisor=supervisor, staff_id=staff_id, groups=groups):
        raise Forbidden("forbidden", "这条待办不归您处理")
    if row.status == "queued" and due_at(session, row) > now:
        raise Conflict("not_due", "这条待办还没到处理时间（下一个工作日早上）")
    return row


def what_they_said(row: HandoffRequest, *, cipher: FieldCipher) -> str:
    """The customer's words (or the request), masked as the chat view masks them; a data change says
    what to change and the new value masked."""
    try:
        text = scrub_text(read_summary(row, cipher=cipher))
        payload = read_payload(row, cipher=cipher) if row.reason == "info_update" else {}
    except CryptoError:
        return "（无法解密）"
    field, value = payload.get("field", ""), payload.get("value", "")
    if field == "phone" and value:
        text += f"，新号码 {mask_phone(value)}"
    elif field == "bank_account" and value:
        text += f"，新卡号 {mask_bank_account(value)}"
    if payload.get("case_no"):  # the claim the customer named (not private: staff look it up)
        text += f"，案件号 {payload['case_no']}"
    if payload.get("roster_match") == "no":
        text += "（身份没有核对上）"
    return text


def rated_agent(row: HandoffRequest, *, cipher: FieldCipher) -> int | None:
    """The agent a low-rating follow-up is about (from its payload)."""
    if row.reason != "follow_up":
        return None
    try:
        agent = read_payload(row, cipher=cipher).get("agent_id", "")
    except CryptoError:
        return None
    return int(agent) if agent.isdigit() else None
