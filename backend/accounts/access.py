"""What a customer account may see (catalogue M-04): anything else answers NotFound, never 403.

* Claims: those reported by one of the person's identities (channel + openid, the same person on
  other channels by unionid), and every claim of an insured person the account acts for with scope
  ``own`` (the insured) or ``all`` (granted).
* Complaints and home visits: those filed by one of the person's identities.
* Attachments: those of a visible claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, exists, false, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload, load_only

from backend.accounts.models import CustomerAccount, Delegation
from backend.accounts.service import AccountRef, Identity, identities
from backend.claims.models import Claim, ClaimAttachment, ClaimMaterial
from backend.complaints.models import Complaint, HomeVisit
from backend.errors import NotFound

# A checklist item as views show it (with ``columns``).
MATERIAL_COLUMNS = (ClaimMaterial.material_id, ClaimMaterial.label, ClaimMaterial.received)


def _reported_by(ids: list[Identity]) -> ColumnElement[bool]:
    parts = [and_(Claim.channel == i.channel, Claim.reporter_openid == i.openid) for i in ids]
    return or_(*parts) if parts else false()


def visible_claims(session: Session, *, account: CustomerAccount) -> ColumnElement[bool]:
    """A WHERE clause selecting the claims this account may see."""
    ids = identities(session, account=account)
    insured = select(Delegation.insured_id_bidx).where(
        Delegation.account_id == account.id,
        Delegation.scope.in_(("own", "all")),
        Delegation.revoked_at.is_(None),
    )
    return or_(_reported_by(ids), Claim.insured_id_bidx.in_(insured.scalar_subquery()))


def _visible_claim_statement(columns: Sequence[InstrumentedAttribute[Any]] | None) -> Select[Claim]:
    """SELECT one claim, with its checklist (a join, not a second SELECT), if the account may see it:
    :func:`visible_claims` with the identities and the account as parameters (``claim_id``, ``who``:
    the (channel, openid) pairs, ``account_id``), built once per shape rather than on every read."""
    key = None if columns is None else tuple(c.key for c in columns)
    stmt = _STATEMENTS.get(key)
    if stmt is not None:
        return stmt
    materials = joinedload(Claim.materials)
    stmt = select(Claim)
    if columns is not None:
        stmt = stmt.options(load_only(*columns))
        materials = materials.load_only(*MATERIAL_COLUMNS)
    insured = select(Delegation.insured_id_bidx).where(
        Delegation.account_id == bindparam("account_id"),
        Delegation.scope.in_(("own", "all")),
        Delegation.revoked_at.is_(None),
    )
    reported = tuple_(Claim.channel, Claim.reporter_openid).in_(bindparam("who", expanding=True))
    stmt = stmt.options(materials).where(
        Claim.id == bindparam("claim_id"), or_(reported, Claim.insured_id_bidx.in_(insured.scalar_subquery()))
    )
    _STATEMENTS[key] = stmt
    return stmt


_STATEMENTS: dict[tuple[str, ...] | None, Select[Claim]] = {}


def visible_claim(
    session: Session,
    *,
    account: AccountRef,
    claim_id: int,
    columns: Sequence[InstrumentedAttribute[Any]] | None = None,
) -> Claim:
    """One claim this account may see; NotFound otherwise (the same answer as a missing one).
    ``columns``: load only these of the claim (for a view that shows a few; any other attribute is
    still there when asked for, at the cost of another read)."""
    who = [(i.channel, i.openid) for i in identities(session, account=account)]
    params = {"claim_id": claim_id, "who": who, "account_id": account.id}
    claim = session.scalars(_visible_claim_statement(columns), params).unique().one_or_none()
    if claim is None:
        raise claim_not_found()
    return claim


def claim_not_found() -> NotFound:
    """The answer for a claim that is missing or not this account's (the same one, M-04)."""
    return NotFound("claim_not_found", "找不到这个案件")


def session_claim_where() -> list[ColumnElement[bool]]:
    """The WHERE clauses of a session's claim (on the claims table; parameters ``claim_id``,
    ``account_id``, ``openid``): the claim, the account still there with the session's openid, and the
    claim visible to it (its identities, itself and the accounts of the same unionid, as a subquery)."""
    acc = CustomerAccount.__table__
    same = acc.alias()
    claims = Claim.__table__
    own_unionid = select(same.c.unionid).where(same.c.id == bindparam("account_id")).scalar_subquery()
    ids = select(acc.c.channel, acc.c.openid).where(
        or_(acc.c.id == bindparam("account_id"), acc.c.unionid == own_unionid)
    )
    insured = select(Delegation.insured_id_bidx).where(
        Delegation.account_id == bindparam("account_id"),
        or_(Delegation.scope == "own", Delegation.scope == "all"),  # not IN: no list to expand per run
        Delegation.revoked_at.is_(None),
    )
    logged_in = exists().where(acc.c.id == bindparam("account_id"), acc.c.openid == bindparam("openid"))
    return [
        claims.c.id == bindparam("claim_id"),
        logged_in,
        or_(
            tuple_(claims.c.channel, claims.c.reporter_openid).in_(ids),
            claims.c.insured_id_bidx.in_(insured.scalar_subquery()),
        ),
    ]


def _session_claim_statement(columns: Sequence[InstrumentedAttribute[Any]]) -> Select[Any]:
    """:func:`_visible_claim_statement` for the account of a session, checked in the same statement: the
    account ``account_id`` must exist with ``openid``, and its identities (itself and the accounts of the
    same unionid) are a subquery, so one statement answers what two did (the account, then the claim).
    A plain read of the tables' columns (no ORM objects): one row per checklist item, the claim's
    ``columns`` (and its id) repeated, then the item's material_id, label and received (None, None, None
    for a claim without a checklist), in the checklist's order."""
    key = ("session", *(c.key for c in columns))
    stmt = _SESSION_STATEMENTS.get(key)
    if stmt is not None:
        return stmt
    claims = Claim.__table__
    items = ClaimMaterial.__table__
    shown = [claims.c.id, *(Claim.__mapper__.columns[c.key].label(c.key) for c in columns if c.key != "id")]
    stmt = (
        select(*shown, *(items.c[c.key] for c in MATERIAL_COLUMNS))
        .select_from(claims.outerjoin(items, items.c.claim_id == claims.c.id))
        .where(*session_claim_where())
        .order_by(items.c.id)
    )
    _SESSION_STATEMENTS[key] = stmt
    return stmt


_SESSION_STATEMENTS: dict[tuple[str, ...], Select[Any]] = {}


def session_claim(
    session: Session,
    *,
    account_id: int,
    openid: str,
    claim_id: int,
    columns: Sequence[InstrumentedAttribute[Any]],
) -> Sequence[Row[Any]]:
    """The claim ``claim_id`` if account ``account_id`` still exists with ``openid`` (a session's) and may
    see it, in one statement, as rows (see :func:`_session_claim_statement`); none otherwise: the caller
    then tells a gone account (401) from a claim it may not see (404) with a second read, on that path
    only."""
    params = {"claim_id": claim_id, "account_id": account_id, "openid": openid}
    return session.connection().execute(_session_claim_statement(columns), params).all()


def reported_by_account(session: Session, *, account: CustomerAccount, claim: Claim) -> bool:
    """True when one of the person's identities reported ``claim``."""
    return any(
        i.channel == claim.channel and i.openid == claim.reporter_openid
        for i in identities(session, account=account)
    )


def is_insured(session: Session, *, account: CustomerAccount, claim: Claim) -> bool:
    """True when the account holder is the insured person of ``claim``."""
    return (
        session.scalar(
            select(Delegation.id).where(
                Delegation.account_id == account.id,
                Delegation.scope == "own",
                Delegation.revoked_at.is_(None),
                Delegation.insured_id_bidx == claim.insured_id_bidx,
            )
        )
        is not None
    )


def visible_attachment(
    session: Session, *, account: CustomerAccount, claim_id: int, attachment_id: int
) -> ClaimAttachment:
    """One attachment of a visible claim; NotFound otherwise."""
    visible_claim(session, account=account, claim_id=claim_id)
    row = session.get(ClaimAttachment, attachment_id)
    if row is None or row.claim_id != claim_id:
        raise NotFound("attachment_not_found", "找不到这份材料文件")
    return row


def _filed_by(column_channel, column_openid, ids: list[Identity]) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    parts = [and_(column_channel == i.channel, column_openid == i.openid) for i in ids]
    return or_(*parts) if parts else false()


def visible_complaints(session: Session, *, account: CustomerAccount) -> ColumnElement[bool]:
    """A WHERE clause selecting the complaints this account's person filed."""
    return _filed_by(Complaint.channel, Complaint.openid, identities(session, account=account))


def visible_complaint(session: Session, *, account: CustomerAccount, complaint_id: int) -> Complaint:
    """One complaint this account's person filed; NotFound otherwise."""
    row = session.scalar(
        select(Complaint).where(Complaint.id == complaint_id, visible_complaints(session, account=account))
    )
    if row is None:
        raise NotFound("complaint_not_found", "找不到这条投诉")
    return row


def visible_visits(session: Session, *, account: CustomerAccount) -> ColumnElement[bool]:
    """A WHERE clause selecting the home visits this account's person asked for."""
    return _filed_by(HomeVisit.channel, HomeVisit.openid, identities(session, account=account))


def visible_visit(session: Session, *, account: CustomerAccount, visit_id: int) -> HomeVisit:
    """One home-visit request of this account's person; NotFound otherwise."""
    row = session.scalar(
        select(HomeVisit).where(HomeVisit.id == visit_id, visible_visits(session, account=account))
    )
    if row is None:
        raise NotFound("home_visit_not_found", "找不到这个上门服务申请")
    return row
