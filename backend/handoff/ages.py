"""The customer's age, when we know who they are, for the "aged 80+ first" queue priority.

We know who a customer is when they proved it: their account is bound to an insured person of the
roster as themselves (the mini-program's identity binding, name + ID number; the same person in the
official account through the unionid), or they reported a claim for themselves that matched the
roster. A family member acting for an insured relative is not that relative: their chat keeps the
ordinary priority. Nothing proven, no age: the queue does not guess from words.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import CustomerAccount, Delegation
from backend.calendar.service import SHANGHAI
from backend.claims.models import Claim
from backend.roster.idcard import age_on
from backend.roster.models import RosterPerson

ACCOUNT_CHANNELS = ("official_account", "mini_program")  # the channels customer accounts are kept for


def _bound_self(session: Session, *, channel: str, user_id: str) -> dt.date | None:
    if channel not in ACCOUNT_CHANNELS:
        return None
    account = session.scalar(select(CustomerAccount).where(
        CustomerAccount.channel == channel, CustomerAccount.openid == user_id))
    if account is None:
        return None
    same_person = select(CustomerAccount.id).where(CustomerAccount.id == account.id)
    if account.unionid:
        same_person = select(CustomerAccount.id).where(CustomerAccount.unionid == account.unionid)
    return session.scalar(
        select(RosterPerson.birth_date)
        .join(Delegation, Delegation.roster_person_id == RosterPerson.id)
        .where(Delegation.account_id.in_(same_person), Delegation.relation == "self",
               Delegation.revoked_at.is_(None))
        .order_by(Delegation.proven_at.desc())
        .limit(1))


def _reported_self(session: Session, *, channel: str, user_id: str) -> dt.date | None:
    return session.scalar(
        select(RosterPerson.birth_date)
        .join(Claim, Claim.roster_person_id == RosterPerson.id)
        .where(Claim.channel == channel, Claim.reporter_openid == user_id, Claim.reporter_relation == "self")
        .order_by(Claim.id.desc())
        .limit(1))


def known_age(session: Session, *, channel: str, user_id: str, at: dt.datetime) -> int | None:
    """The age today (China time) of the insured person this customer proved to be, or None."""
    birth = (_bound_self(session, channel=channel, user_id=user_id)
             or _reported_self(session, channel=channel, user_id=user_id))
    if birth is None:
        return None
    return age_on(birth, at.astimezone(SHANGHAI).date())
