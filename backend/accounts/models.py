"""Customer accounts on WeChat channels, and delegations (who may act for which insured person).

An account is one (channel, openid). The mini-program's ``session_key`` (from ``jscode2session``)
is stored only encrypted, overwritten at each login, and never leaves the server (catalogue M-02).
Accounts of the same person on the official account and the mini-program share the ``unionid``
when WeChat gives it.

A :class:`Delegation` says an account may act for an insured person of the roster, proven by that
person's name and ID number: ``relation`` ``self`` (the account holder is the insured: scope
``own``, everything of theirs) or a family relation (scope ``reported``: the claims the account
reported, until the insured or staff grant ``all``). Revoked delegations are kept (``revoked_at``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.security.columns import encrypted

PURPOSE_SESSION_KEY = "accounts.session_key"
PURPOSE_PHONE = "accounts.phone"


class CustomerAccount(Base):
    """A customer as one WeChat channel knows them."""

    __tablename__ = "customer_accounts"
    __table_args__ = (UniqueConstraint("channel", "openid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(24))  # mini_program | official_account
    openid: Mapped[str] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    session_key_enc: Mapped[str | None] = mapped_column(Text, info=encrypted(PURPOSE_SESSION_KEY))
    session_key_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    phone_enc: Mapped[str | None] = mapped_column(Text, info=encrypted(PURPOSE_PHONE))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Delegation(Base):
    """An account may act for an insured person (see the module docstring)."""

    __tablename__ = "delegations"
    __table_args__ = (UniqueConstraint("account_id", "roster_person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("customer_accounts.id"), index=True)
    roster_person_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    # Blind index of the insured's ID number as claims store it (purpose claims.insured_id_number).
    insured_id_bidx: Mapped[str] = mapped_column(String(64), index=True)
    insured_name_masked: Mapped[str] = mapped_column(String(100))
    relation: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(16))  # own | reported | all
    proven_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    granted_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
