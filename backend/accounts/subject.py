"""A customer's own requests about their personal information (PIPL Art. 44–50; catalogue D-06).

* :func:`consent_history` — every consent decision of the account's identity (for the copy, Art. 45).
* :func:`correct_contact_phone` — correct the contact phone of an open claim the account reported
  (Art. 46). The account's own phone is corrected by verifying a new one with WeChat; a wrong
  binding is removed and made again.
* :func:`erase_account` — delete the account (Art. 47): its phone, session key, bindings, consents
  (withdrawn: the withdrawal stays as the record of it), subscribe-message choices and channel choices.
  Claims, complaints and home visits are kept: the Insurance Law (Art. 87) and the complaint rules make
  us keep them; the retention job anonymises them when that time is over (D-05, C-07).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.accounts import access
from backend.accounts.models import CustomerAccount, Delegation
from backend.claims import validation as v
from backend.claims.models import PURPOSE_REPORTER_PHONE, ClaimEvent
from backend.claims.states import OPEN_STATES, ClaimState
from backend.db import utcnow
from backend.errors import Conflict, Forbidden
from backend.idempotency.models import IdempotencyKey
from backend.notifications.models import ChannelPreference, SubscriptionChoice, SubscriptionGrant
from backend.privacy.models import ConsentEvent
from backend.privacy.service import (
    CATEGORIES,
    has_consent,
    privacy_notice_accepted,
    withdraw_consent,
    withdraw_privacy_notice,
)
from backend.security.crypto import FieldCipher

CONTACT_EVENT = "contact_changed"


def actor_of(account: CustomerAccount) -> str:
    return f"customer:{account.openid}"


def consent_history(session: Session, *, account: CustomerAccount) -> list[ConsentEvent]:
    """The consent decisions given through this account's identity, oldest first."""
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.channel == account.channel, ConsentEvent.user_id == account.openid)
            .order_by(ConsentEvent.at, ConsentEvent.id)
        )
    )


def correct_contact_phone(
    session: Session,
    *,
    cipher: FieldCipher,
    account: CustomerAccount,
    claim_id: int,
    phone: str,
    now: dt.datetime | None = None,
) -> ClaimEvent:
    """Replace the contact phone of a claim this account reported while the claim is open."""
    claim = access.visible_claim(session, account=account, claim_id=claim_id)
    if not access.reported_by_account(session, account=account, claim=claim):
        raise Forbidden("not_reporter", "只有报案人可以改联系电话")
    if ClaimState(claim.state) not in OPEN_STATES:
        raise Conflict("claim_closed", "这个案件已经办完或撤销，联系电话不能再改")
    number = v.phone_number(phone, field="phone")
    claim.reporter_phone_enc = cipher.encrypt(number, purpose=PURPOSE_REPORTER_PHONE)
    claim.reporter_phone_bidx = cipher.blind_index(number, purpose=PURPOSE_REPORTER_PHONE)
    event = ClaimEvent(
        claim_id=claim.id,
        claim_version=claim.version,
        at=now or utcnow(),
        actor=actor_of(account),
        kind=CONTACT_EVENT,
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class Erasure:
    """What :func:`erase_account` removed (counts per kind)."""

    bindings: int
    consents_withdrawn: int
    subscriptions: int
    phone: bool


def erase_account(session: Session, *, account: CustomerAccount, now: dt.datetime | None = None) -> Erasure:
    """Delete the account and what hangs on it (see the module docstring); every token of it stops
    working, as its sessions name an account that no longer exists."""
    now = now or utcnow()
    channel, openid, actor = account.channel, account.openid, actor_of(account)
    withdrawn = 0
    for category in CATEGORIES:
        if has_consent(session, category=category, channel=channel, user_id=openid):
            withdraw_consent(
                session, category=category, channel=channel, actor=actor, user_id=openid, now=now
            )
            withdrawn += 1
    accepted = privacy_notice_accepted(session, channel=channel, user_id=openid)
    if accepted is not None:
        withdraw_privacy_notice(session, channel=channel, user_id=openid, version=accepted, actor=actor,
                                now=now)
    bindings = session.execute(delete(Delegation).where(Delegation.account_id == account.id))
    choices = session.execute(
        delete(SubscriptionChoice).where(
            SubscriptionChoice.channel == channel, SubscriptionChoice.openid == openid
        )
    )
    session.execute(
        delete(SubscriptionGrant).where(
            SubscriptionGrant.channel == channel,
            SubscriptionGrant.openid == openid,
            SubscriptionGrant.consumed_at.is_(None),
        )
    )
    session.execute(
        delete(ChannelPreference).where(
            ChannelPreference.channel == channel, ChannelPreference.openid == openid
        )
    )
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.owner == f"customer:{account.id}"))
    had_phone = account.phone_enc is not None
    session.delete(account)
    session.flush()
    return Erasure(
        bindings=int(getattr(bindings, "rowcount", 0) or 0),
        consents_withdrawn=withdrawn,
        subscriptions=int(getattr(choices, "rowcount", 0) or 0),
        phone=had_phone,
    )
