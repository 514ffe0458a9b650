"""Binding an account to an insured person of the roster (name + ID number), and delegations.

The insured person is found through the roster's ID blind index and the name compared after
decrypting that one row (blanks and middle dots ignored). A mismatch and an unknown ID number get
the same answer, so the endpoint tells nothing about who is insured. Using the ID number needs the
customer's ``id_number`` consent and the accepted privacy notice (D-04).

Scopes: ``own`` (the account holder is the insured: sees every claim of theirs), ``reported`` (a
family member: acts for the insured and sees what they reported), ``all`` (a family member the
insured, or staff, allowed to see everything of the insured).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import CustomerAccount, Delegation
from backend.claims import validation as v
from backend.claims.models import PURPOSE_INSURED_ID
from backend.db import utcnow
from backend.errors import Conflict, NotFound, ServiceError
from backend.privacy.service import require_consent, require_privacy_notice
from backend.products.schemas import Product
from backend.roster.models import PURPOSE_NAME, RosterPerson
from backend.roster.service import id_number_index
from backend.security.crypto import CryptoError, FieldCipher

SCOPES = ("own", "reported", "all")
_NAME_NOISE = re.compile(r"[\s·•.\u00b7\u30fb-]")


def _not_matched() -> NotFound:
    return NotFound(
        "insured_not_matched", "姓名和身份证号对不上，或者不在参保名单里。请核对后再试，或拨打客服电话。"
    )


def _same_name(a: str, b: str) -> bool:
    return _NAME_NOISE.sub("", a).casefold() == _NAME_NOISE.sub("", b).casefold()


def bind_insured(
    session: Session,
    *,
    cipher: FieldCipher,
    product: Product,
    account: CustomerAccount,
    name: str,
    id_number: str,
    relation: str,
    now: dt.datetime | None = None,
) -> Delegation:
    """Prove the insured's name + ID number and record the delegation (again after a revocation)."""
    now = now or utcnow()
    require_privacy_notice(session, channel=account.channel, user_id=account.openid)
    require_consent(session, category="id_number", channel=account.channel, user_id=account.openid)
    who = v.required_text(name, field="name", label="姓名", max_len=100)
    number = v.id_number(id_number, field="id_number")
    rel = v.required_text(relation, field="relation", label="与被保险人的关系", max_len=32)
    person = session.scalar(
        select(RosterPerson).where(
            RosterPerson.product_id == product.id,
            RosterPerson.id_number_bidx == id_number_index(cipher=cipher, number=number),
        )
    )
    if person is None:
        raise _not_matched()
    try:
        clear = cipher.decrypt(person.name_enc, purpose=PURPOSE_NAME)
    except CryptoError:
        raise _not_matched() from None
    if not _same_name(clear, who):
        raise _not_matched()
    scope = "own" if rel == "self" else "reported"
    if scope == "own":
        other_self = session.scalar(
            select(Delegation).where(
                Delegation.account_id == account.id,
                Delegation.scope == "own",
                Delegation.revoked_at.is_(None),
                Delegation.roster_person_id != person.id,
            )
        )
        if other_self is not None:
            raise Conflict("self_already_bound", "这个微信已经绑定了本人身份。如需更改，请先解除原来的绑定。")
    row = session.scalar(
        select(Delegation).where(
            Delegation.account_id == account.id, Delegation.roster_person_id == person.id
        )
    )
    if row is None:
        row = Delegation(
            account_id=account.id,
            roster_person_id=person.id,
            product_id=product.id,
            insured_id_bidx=cipher.blind_index(number, purpose=PURPOSE_INSURED_ID),
            insured_name_masked=person.name_masked,
            relation=rel,
            scope=scope,
            proven_at=now,
        )
        session.add(row)
    else:
        if row.revoked_at is None and row.scope == "all" and scope == "reported":
            scope = "all"  # proving again keeps what was granted
        row.relation, row.scope, row.proven_at = rel, scope, now
        row.revoked_at = row.revoked_by = None
    session.flush()
    return row


def delegations_of(session: Session, *, account_id: int, include_revoked: bool = False) -> list[Delegation]:
    """The insured people an account may act for, oldest first."""
    q = select(Delegation).where(Delegation.account_id == account_id)
    if not include_revoked:
        q = q.where(Delegation.revoked_at.is_(None))
    return list(session.scalars(q.order_by(Delegation.id)))


def get_delegation(session: Session, *, account_id: int, delegation_id: int) -> Delegation:
    """One active delegation of this account; NotFound for anyone else's (M-04)."""
    row = session.get(Delegation, delegation_id)
    if row is None or row.account_id != account_id or row.revoked_at is not None:
        raise NotFound("insured_not_found", "找不到这位被保险人，请先绑定")
    return row


def self_delegation(session: Session, *, account_id: int) -> Delegation | None:
    """The account holder's own insured identity, if bound."""
    return session.scalar(
        select(Delegation).where(
            Delegation.account_id == account_id, Delegation.scope == "own", Delegation.revoked_at.is_(None)
        )
    )


def delegates_of_insured(session: Session, *, account_id: int) -> list[Delegation]:
    """The other accounts acting for the insured person this account is (its own binding); oldest first."""
    me = self_delegation(session, account_id=account_id)
    if me is None:
        return []
    return list(
        session.scalars(
            select(Delegation)
            .where(
                Delegation.roster_person_id == me.roster_person_id,
                Delegation.account_id != account_id,
                Delegation.revoked_at.is_(None),
            )
            .order_by(Delegation.id)
        )
    )


def _delegate_row(session: Session, *, insured_account_id: int, delegation_id: int) -> Delegation:
    for row in delegates_of_insured(session, account_id=insured_account_id):
        if row.id == delegation_id:
            return row
    raise NotFound("delegation_not_found", "找不到这位家人的授权")


def set_delegate_scope(
    session: Session,
    *,
    insured_account_id: int,
    delegation_id: int,
    scope: str,
    actor: str,
    now: dt.datetime | None = None,
) -> Delegation:
    """The insured lets a family member see everything (``all``) or only what they reported."""
    if scope not in ("reported", "all"):
        raise ServiceError(
            "invalid_scope", "授权范围不对", detail={"field": "scope", "allowed": ["reported", "all"]}
        )
    row = _delegate_row(session, insured_account_id=insured_account_id, delegation_id=delegation_id)
    row.scope = scope
    row.granted_at, row.granted_by = (now or utcnow(), v.actor(actor)) if scope == "all" else (None, None)
    session.flush()
    return row


def revoke(
    session: Session, *, account_id: int, delegation_id: int, actor: str, now: dt.datetime | None = None
) -> Delegation:
    """End a delegation: by the account that holds it, or by the insured it is about."""
    row = session.get(Delegation, delegation_id)
    mine = row is not None and row.account_id == account_id and row.revoked_at is None
    if not mine:
        row = _delegate_row(session, insured_account_id=account_id, delegation_id=delegation_id)
    assert row is not None
    row.revoked_at, row.revoked_by = now or utcnow(), v.actor(actor)
    session.flush()
    return row
