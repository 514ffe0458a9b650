"""One claim as the mini-program shows it: the response models of the claim screens and the view that
fills them (stage, next step, checklist, timeline, notices sent, files), reading only the columns shown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from pydantic import BaseModel, Field
from sqlalchemy import Row, bindparam, select

from backend.claims.models import Claim, ClaimAttachment
from backend.claims.progress import ProgressClaim
from backend.privacy.freetext import row_free_text
from backend.security.crypto import CryptoError, FieldCipher


class NextStepOut(BaseModel):
    kind: str = Field(examples=["materials_review"])
    text: str = Field(examples=["工作人员正在审核材料"])
    due_date: dt.date | None = Field(
        default=None, examples=["2026-03-12"], description="预计日期（北京时间）"
    )
    provisional: bool = Field(default=False, description="节假日安排还没公布，日期可能调整")
    working_days_left: int | None = Field(default=None, examples=[5])


class ChecklistOut(BaseModel):
    material_id: str = Field(examples=["medical_record"])
    label: str = Field(examples=["病历"])
    received: bool
    medical: bool = Field(description="是病历类材料（上传前需同意使用病历）")
    files: int = Field(description="已上传到这一项的文件数")


class TimelineOut(BaseModel):
    at: dt.datetime
    kind: str = Field(examples=["transition"])
    title: str = Field(examples=["案件进度：审核中"])
    detail: str | None = None


class AttachmentOut(BaseModel):
    id: int = Field(examples=[41])
    material_id: str | None = Field(default=None, examples=["medical_record"])
    content_type: str = Field(examples=["image/jpeg"])
    size_bytes: int | None = Field(default=None, examples=[482113])
    status: str = Field(
        examples=["stored"], description="stored 已保存；pending_fetch 正在从微信取；expired 需要重新发"
    )
    received_at: dt.datetime


class ClaimSummary(BaseModel):
    id: int = Field(examples=[12])
    case_no: str = Field(examples=["LP26030200019"])
    claim_type: str = Field(examples=["hospital_allowance"])
    insured_name_masked: str = Field(examples=["陈*婆"])
    stage: str = Field(examples=["materials_pending"])
    stage_label: str = Field(examples=["等待材料"])
    reported_at: dt.datetime


class CoverageOut(BaseModel):
    covered: bool
    reason: str = Field(examples=["在保障期内"])


class AttachmentRow(Protocol):
    """What a file's view reads: a ClaimAttachment, or a row of :data:`ATTACHMENT_COLUMNS`."""

    @property
    def id(self) -> int: ...
    @property
    def material_id(self) -> str | None: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size_bytes(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def received_at(self) -> dt.datetime: ...


_FILE_TABLE = ClaimAttachment.__table__
ATTACHMENT_COLUMNS = tuple(
    _FILE_TABLE.c[name]
    for name in ("id", "material_id", "content_type", "size_bytes", "status", "received_at")
)
# A claim's files, oldest first: of the table's columns, run on the session's connection (a plain
# read, without the ORM's machinery); built once, only the claim's id changes.
FILES_OF_CLAIM = (
    select(*ATTACHMENT_COLUMNS)
    .where(_FILE_TABLE.c.claim_id == bindparam("claim_id"))
    .order_by(_FILE_TABLE.c.id)
)
@dataclass(frozen=True, slots=True)
class ChecklistRow:
    """One checklist item as the detail reads it."""

    material_id: str
    label: str
    received: bool


@dataclass(frozen=True, slots=True)
class ShownClaim:
    """The claim's columns the detail shows or needs (the others, encrypted identity and bank details
    among them, are not read at all), with its checklist: a plain read (``access.session_claim``), no ORM
    object. A Claim has the same attributes, so the views take either."""

    id: int
    case_no: str
    claim_type: str
    insured_name_masked: str
    state: str
    reported_at: dt.datetime
    version: int
    reporter_relation: str
    accident_type: str
    accident_date: dt.date
    description_enc: str | None
    place_enc: str | None
    hospital_enc: str | None
    approved_amount_fen: int | None
    paid_amount_fen: int | None
    deadline_kind: str | None
    deadline_date: dt.date | None
    deadline_provisional: bool
    materials: tuple[ChecklistRow, ...]

    @classmethod
    def from_rows(cls, rows: Sequence[Row[Any]]) -> ShownClaim:
        """The claim of ``access.session_claim``'s rows (one per checklist item, the claim's columns
        repeated)."""
        first = rows[0]._mapping
        items = tuple(
            ChecklistRow(r.material_id, r.label, r.received) for r in rows if r.material_id is not None
        )
        return cls(**{name: first[name] for name in CLAIM_FIELDS}, materials=items)


CLAIM_FIELDS = tuple(f.name for f in fields(ShownClaim) if f.name != "materials")
SHOWN_COLUMNS = tuple(getattr(Claim, name) for name in CLAIM_FIELDS)


class ClaimFields(ProgressClaim, Protocol):
    """What the claim views read: a Claim or a :class:`ShownClaim`."""

    @property
    def case_no(self) -> str: ...
    @property
    def claim_type(self) -> str: ...
    @property
    def insured_name_masked(self) -> str: ...
    @property
    def reported_at(self) -> dt.datetime: ...
    @property
    def version(self) -> int: ...
    @property
    def reporter_relation(self) -> str: ...
    @property
    def accident_type(self) -> str: ...
    @property
    def accident_date(self) -> dt.date: ...
    @property
    def approved_amount_fen(self) -> int | None: ...
    @property
    def paid_amount_fen(self) -> int | None: ...


def text_of(claim: ClaimFields, field: str, cipher: FieldCipher) -> str | None:
    try:
        return row_free_text(Claim, claim, field, cipher=cipher)
    except CryptoError:
        return None


def summary(claim: ClaimFields) -> ClaimSummary:
    from backend.claims.states import label

    return ClaimSummary(
        id=claim.id,
        case_no=claim.case_no,
        claim_type=claim.claim_type,
        insured_name_masked=claim.insured_name_masked,
        stage=claim.state,
        stage_label=label(claim.state),
        reported_at=claim.reported_at,
    )


def attachment_view(row: AttachmentRow) -> AttachmentOut:
    return AttachmentOut(
        id=row.id,
        material_id=row.material_id,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        status=row.status,
        received_at=row.received_at,
    )
