"""The console's 待办 (``/api/console/work-items``): call-backs, low-rating follow-ups and data changes
left for staff (``backend.handoff.workitems``). Listed when due, taken by one person (the chat queue's
take, A-06), finished with an outcome and a note (the chat's close, audited, published live). Cookie
session and CSRF as every console route; who sees which item: ``workitems.may_see``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.deps import Now, RedisDep, RowId, RuntimeDep, WriteDbSession
from backend.errors import ERROR_RESPONSES, Conflict, NotFound
from backend.handoff import workitems
from backend.handoff.console import close, take
from backend.handoff.console_auth import SUPERVISORS, _console_role, console_staff
from backend.handoff.console_views import agent_groups, customer_label
from backend.handoff.models import HandoffRequest
from backend.handoff.schemas import DispositionOut, FinishIn, WorkItemOut, WorkItemsOut
from backend.security.crypto import FieldCipher
from backend.staff.deps import StaffPrincipal
from backend.staff.models import StaffUser

router = APIRouter(tags=["console"], responses=ERROR_RESPONSES)


def _agent(staff: Annotated[StaffPrincipal, Depends(console_staff)]) -> StaffPrincipal:
    return _console_role(staff)


Agent = Annotated[StaffPrincipal, Depends(_agent)]
OUTCOMES = [DispositionOut(key=k, title=t) for k, t in workitems.OUTCOMES.items()]


def _out(db: Session, item: workitems.WorkItem, now: dt.datetime, cipher: FieldCipher,
         names: dict[int, str]) -> WorkItemOut:
    row = item.row
    about = workitems.rated_agent(row, cipher=cipher)
    return WorkItemOut(
        id=row.id, reason=row.reason, kind=workitems.KIND_LABELS.get(row.reason, row.reason),
        status=row.status, skill_group=row.skill_group, left_at=row.created_at, due_at=item.due_at,
        wait_s=max(0, int((now - item.due_at).total_seconds())), customer=customer_label(row),
        said=workitems.what_they_said(row, cipher=cipher), agent_id=row.agent_id,
        taken_by=names.get(row.agent_id) if row.agent_id is not None else None,
        about_agent=(names.get(about) or f"#{about}") if about is not None else None,
        supervisor_only=row.reason in workitems.SUPERVISOR_ONLY)


def _names(db: Session, items: list[workitems.WorkItem], cipher: FieldCipher) -> dict[int, str]:
    ids = {i.row.agent_id for i in items if i.row.agent_id is not None}
    ids |= {a for a in (workitems.rated_agent(i.row, cipher=cipher) for i in items) if a is not None}
    if not ids:
        return {}
    rows = db.execute(select(StaffUser.id, StaffUser.username).where(StaffUser.id.in_(ids)))
    return {i: n for i, n in rows}


def _item(db: Session, staff: StaffPrincipal, handoff_id: int, now: dt.datetime) -> HandoffRequest:
    row = db.get(HandoffRequest, handoff_id)
    if row is None:
        raise NotFound("not_found", "找不到这条待办")
    return workitems.checked(db, row, now=now, staff_id=staff.id, supervisor=staff.role in SUPERVISORS,
                             groups=agent_groups(db, staff.id))


def _one(db: Session, row: HandoffRequest, now: dt.datetime, cipher: FieldCipher) -> WorkItemOut:
    item = workitems.WorkItem(row, workitems.due_at(db, row))
    return _out(db, item, now, cipher, _names(db, [item], cipher))


@router.get("/work-items", response_model=WorkItemsOut)
def console_work_items(staff: Agent, db: WriteDbSession, runtime: RuntimeDep, now: Now) -> WorkItemsOut:
    """Open work items that are due, oldest due first: waiting to be taken (an agent: their groups',
    without low-rating follow-ups; a supervisor: all) and those taken by this staff member (a
    supervisor: by anyone). Customers as masked labels, their words with numbers masked."""
    items = workitems.open_items(db, now=now, staff_id=staff.id, supervisor=staff.role in SUPERVISORS,
                                 groups=agent_groups(db, staff.id))
    names = _names(db, items, runtime.cipher)
    return WorkItemsOut(items=[_out(db, i, now, runtime.cipher, names) for i in items], outcomes=OUTCOMES)


@router.post("/work-items/{handoff_id}/take", response_model=WorkItemOut)
def console_take_work_item(handoff_id: RowId, staff: Agent, db: WriteDbSession, redis_client: RedisDep,
                           runtime: RuntimeDep, now: Now) -> WorkItemOut:
    """Take a work item (one winner when two race: 409 ``already_taken``). A taken call-back opens in
    the chat view, where the agent may also write to the customer (WeChat's 48-hour window)."""
    row = _item(db, staff, handoff_id, now)
    take(db, handoff_id=row.id, staff_id=staff.id, now=now, redis=redis_client)
    db.refresh(row)
    return _one(db, row, now, runtime.cipher)


@router.post("/work-items/{handoff_id}/finish", response_model=WorkItemOut)
def console_finish_work_item(handoff_id: RowId, body: FinishIn, staff: Agent, db: WriteDbSession,
                             redis_client: RedisDep, runtime: RuntimeDep, now: Now) -> WorkItemOut:
    """Finish a taken work item with an outcome (已回电 / 联系不上 / 已处理) and a short note: closed,
    audited, published (other consoles' lists update)."""
    row = _item(db, staff, handoff_id, now)
    if row.status == "queued":
        raise Conflict("not_taken", "请先点“接”，再办完这条待办", detail={"handoff_id": row.id})
    if row.status == "closed":
        raise Conflict("already_finished", "这条待办已经办完了", detail={"handoff_id": row.id})
    close(db, handoff_id=row.id, staff_id=staff.id, disposition=body.outcome, summary=body.note, now=now,
          cipher=runtime.cipher, redis=redis_client, supervisor=staff.role in SUPERVISORS)
    return _one(db, row, now, runtime.cipher)
