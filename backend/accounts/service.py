"""Customer accounts: login (one account per channel and openid), the session key, the phone number,
and the identities that are the same person (linked by ``unionid``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.models import PURPOSE_PHONE, PURPOSE_SESSION_KEY, CustomerAccount
from backend.claims import validation as v
from backend.db import utcnow
from backend.errors import NotFound
from backend.security.crypto import CryptoError, FieldCipher


@dataclass(frozen=True, slots=True)
class Identity:
    """One (channel, openid) of a person."""

    channel: str
    openid: str


def _find(session: Session, channel: str, openid: str) -> CustomerAccount | None:
    return session.scalar(
        select(CustomerAccount).where(CustomerAccount.channel == channel, CustomerAccount.openid == openid)
    )


def record_login(
    session: Session,
    *,
    cipher: FieldCipher,
    channel: str,
    openid: str,
    unionid: str | None,
    session_key: str | None,
    now: dt.datetime | None = None,
) -> CustomerAccount:
    """The account of (channel, openid), created on first login; the session key is replaced (encrypted)."""
    now = now or utcnow()
    chan = v.channel(channel)
    oid = v.required_text(openid, field="openid", label="微信用户", max_len=64)
    account = _find(session, chan, oid)
    if account is None:
        try:
            with session.begin_nested():
                account = CustomerAccount(channel=chan, openid=oid, created_at=now)
                session.add(account)
                session.flush()
        except IntegrityError:  # two first logins at once (M-01): one account
            account = _find(session, chan, oid)
            if account is None:
                raise
    if unionid:
        account.unionid = unionid[:64]
    if session_key is not None:
        account.session_key_enc = cipher.encrypt(session_key, purpose=PURPOSE_SESSION_KEY)
        account.session_key_at = now
    account.last_login_at = now
    session.flush()
    return account


def link_identity(
    session: Session, *, channel: str, openid: str, unionid: str, now: dt.datetime | None = None
) -> CustomerAccount:
    """Record that (channel, openid) has ``unionid`` (e.g. the official account learnt it)."""
    account = _find(session, v.channel(channel), openid)
    if account is None:
        account = CustomerAccount(channel=v.channel(channel), openid=openid, created_at=now or utcnow())
        session.add(account)
    account.unionid = unionid[:64]
    session.flush()
    return account


def get_account(session: Session, *, account_id: int) -> CustomerAccount:
    """One account; NotFound otherwise."""
    account = session.get(CustomerAccount, account_id)
    if account is None:
        raise NotFound("account_not_found", "账号不存在，请重新登录")
    return account


def session_key_of(account: CustomerAccount, *, cipher: FieldCipher) -> str | None:
    """The mini-program session key in clear (server side only), None when unknown or undecryptable."""
    if not account.session_key_enc:
        return None
    try:
        return cipher.decrypt(account.session_key_enc, purpose=PURPOSE_SESSION_KEY)
    except CryptoError:
        return None


def set_phone(
    session: Session,
    *,
    cipher: FieldCipher,
    account: CustomerAccount,
    phone: str,
    now: dt.datetime | None = None,
) -> CustomerAccount:
    """Store the phone number WeChat verified (encrypted, with a blind index)."""
    number = v.phone_number(phone, field="phone")
    account.phone_enc = cipher.encrypt(number, purpose=PURPOSE_PHONE)
    account.phone_bidx = cipher.blind_index(number, purpose=PURPOSE_PHONE)
    account.phone_verified_at = now or utcnow()
    session.flush()
    return account


def phone_of(account: CustomerAccount, *, cipher: FieldCipher) -> str | None:
    """The verified phone number in clear (None when none)."""
    if not account.phone_enc:
        return None
    try:
        return cipher.decrypt(account.phone_enc, purpose=PURPOSE_PHONE)
    except CryptoError:
        return None


class AccountRef(Protocol):
    """What deciding visibility reads of an account: a CustomerAccount, or a row of those columns."""

    @property
    def id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def openid(self) -> str: ...
    @property
    def unionid(self) -> str | None: ...


def identities(session: Session, *, account: AccountRef) -> list[Identity]:
    """The account's own identity and those of accounts with the same unionid (same person)."""
    own = Identity(account.channel, account.openid)
    if not account.unionid:
        return [own]
    rows = session.execute(
        select(CustomerAccount.channel, CustomerAccount.openid).where(
            CustomerAccount.unionid == account.unionid
        )
    ).all()
    return [own, *(Identity(c, o) for c, o in rows if (c, o) != (own.channel, own.openid))]
