"""Separate consent (单独同意, PIPL Art. 29) for each sensitive category, and the claim checks.

Categories: ``id_number`` (specific identity), ``medical`` (medical records), ``bank_account``
(financial account). The consent texts and their versions live in ``config/consent.yaml``.

Subjects (see ``backend.privacy.models``): a WeChat user (channel + openid) and/or an insured
person (ID blind index). :func:`has_consent` looks at every event of the category that matches any
identity given and takes the latest (by time, then id): a withdrawal on the phone stops a claim
reported on WeChat, and a later grant on either identity allows it again.

Claims (:func:`check_claim_consent`): a claim from a customer channel (official_account /
mini_program) needs the reporter's consent (``claims.channel`` + ``claims.reporter_openid``, or a
phone consent for the insured's ID). A claim entered by staff (phone, office, other) records the
consent the caller gave on the phone, with the staff member as the actor, the first time a category
is processed; after a withdrawal the staff must record a fresh consent (:func:`record_consent`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import Forbidden, ServiceError
from backend.privacy.models import ConsentEvent
from config.settings import CONFIG_DIR

CONSENT_FILE = CONFIG_DIR / "consent.yaml"
CATEGORIES = ("id_number", "medical", "bank_account")
PRIVACY_NOTICE = "privacy_notice"  # acceptance of the privacy notice (a consent event of its own)
CUSTOMER_CHANNELS = frozenset({"official_account", "mini_program"})


@dataclass(frozen=True)
class ConsentText:
    """The text shown (or read out) for one category, and its version."""

    category: str
    label: str
    version: str
    text: str


@dataclass(frozen=True)
class ConsentConfig:
    """``config/consent.yaml``: the texts and the medical checklist items."""

    texts: dict[str, ConsentText]
    medical_materials: frozenset[str]
    notice: ConsentText

    @classmethod
    def load(cls, path: Path = CONSENT_FILE) -> ConsentConfig:
        """Read and check the consent file (every category needs a label, version and text)."""
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts = {}
        for cat in CATEGORIES:
            entry = data["categories"][cat]
            texts[cat] = ConsentText(category=cat, label=str(entry["label"]),
                                     version=str(entry["version"]), text=str(entry["text"]))
        pn = data["privacy_notice"]
        notice = ConsentText(category=PRIVACY_NOTICE, label=str(pn["title"]), version=str(pn["version"]),
                             text=str(pn["text"]))
        return cls(texts=texts, medical_materials=frozenset(str(m) for m in data["medical_materials"]),
                   notice=notice)


@lru_cache(maxsize=1)
def consent_config() -> ConsentConfig:
    """The consent file, read once."""
    return ConsentConfig.load()


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise ServiceError("invalid_consent_category", "同意的类别不对",
                           detail={"field": "category", "allowed": list(CATEGORIES)})
    return value


def _subject_filter(channel: str | None, user_id: str | None, id_bidx: str | None) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if user_id:
        parts.append((ConsentEvent.channel == channel) & (ConsentEvent.user_id == user_id))
    if id_bidx:
        parts.append(ConsentEvent.id_bidx == id_bidx)
    if not parts:
        raise ValueError("a consent subject needs user_id (with channel) or id_bidx")
    return or_(*parts)


def _record(session: Session, *, granted: bool, category: str, channel: str, actor: str,
            user_id: str | None, id_bidx: str | None, claim_id: int | None, version: str | None,
            now: dt.datetime | None) -> ConsentEvent:
    cat = _category(category)
    if channel in CUSTOMER_CHANNELS and not user_id:
        raise ServiceError("consent_subject_required", "缺少客户身份，不能记录同意",
                           detail={"field": "user_id"})
    if not user_id and not id_bidx:
        raise ServiceError("consent_subject_required", "缺少客户身份，不能记录同意",
                           detail={"field": "id_bidx"})
    if not (actor or "").strip():
        raise ServiceError("invalid_input", "请填写操作人", detail={"field": "actor"})
    event = ConsentEvent(
        category=cat, granted=granted, text_version=version or consent_config().texts[cat].version,
        at=now or utcnow(), channel=channel, user_id=user_id or None, id_bidx=id_bidx or None,
        actor=actor.strip()[:100], claim_id=claim_id,
    )
    session.add(event)
    session.flush()
    return event


def record_consent(session: Session, *, category: str, channel: str, actor: str, user_id: str | None = None,
                   id_bidx: str | None = None, claim_id: int | None = None, version: str | None = None,
                   now: dt.datetime | None = None) -> ConsentEvent:
    """Record a consent given (by the customer, or on the phone with the staff member as actor)."""
    return _record(session, granted=True, category=category, channel=channel, actor=actor, user_id=user_id,
                   id_bidx=id_bidx, claim_id=claim_id, version=version, now=now)


def withdraw_consent(session: Session, *, category: str, channel: str, actor: str, user_id: str | None = None,
                     id_bidx: str | None = None, claim_id: int | None = None, version: str | None = None,
                     now: dt.datetime | None = None) -> ConsentEvent:
    """Record a withdrawal (or a refusal): processing of that category stops."""
    return _record(session, granted=False, category=category, channel=channel, actor=actor, user_id=user_id,
                   id_bidx=id_bidx, claim_id=claim_id, version=version, now=now)


def latest_consent(session: Session, *, category: str, channel: str | None = None, user_id: str | None = None,
                   id_bidx: str | None = None, at: dt.datetime | None = None) -> ConsentEvent | None:
    """The latest decision about this category for any of the subject's identities (at ``at``)."""
    query = select(ConsentEvent).where(ConsentEvent.category == _category(category),
                                       _subject_filter(channel, user_id, id_bidx))
    if at is not None:
        query = query.where(ConsentEvent.at <= at)
    return session.scalars(query.order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc()).limit(1)).first()


def has_consent(session: Session, *, category: str, channel: str | None = None, user_id: str | None = None,
                id_bidx: str | None = None, at: dt.datetime | None = None) -> bool:
    """True when the latest decision (at ``at``, default now) for this subject and category is a grant."""
    if not user_id and not id_bidx:
        return False
    event = latest_consent(session, category=category, channel=channel, user_id=user_id, id_bidx=id_bidx,
                           at=at)
    return event is not None and event.granted


def consent_required(category: str) -> Forbidden:
    """The error raised when a category is processed without consent."""
    label = consent_config().texts[_category(category)].label
    return Forbidden("consent_required", f"需要先同意使用{label}，才能继续办理。",
                     detail={"category": category})


def require_consent(session: Session, *, category: str, channel: str | None = None,
                    user_id: str | None = None, id_bidx: str | None = None,
                    at: dt.datetime | None = None) -> None:
    """Forbidden("consent_required") unless :func:`has_consent`."""
    if not has_consent(session, category=category, channel=channel, user_id=user_id, id_bidx=id_bidx, at=at):
        raise consent_required(category)


def ensure_consent(session: Session, *, category: str, channel: str, actor: str, user_id: str | None,
                   id_bidx: str | None, now: dt.datetime, claim_id: int | None = None) -> None:
    """The claim rule: customer channels need the consent; staff channels record the phone consent once."""
    if channel in CUSTOMER_CHANNELS:
        require_consent(session, category=category, channel=channel, user_id=user_id, id_bidx=id_bidx)
        return
    latest = latest_consent(session, category=category, id_bidx=id_bidx) if id_bidx else None
    if latest is None:
        record_consent(session, category=category, channel=channel, actor=actor, id_bidx=id_bidx,
                       claim_id=claim_id, now=now)
    elif not latest.granted:
        raise consent_required(category)


class ClaimSubjects(Protocol):
    """What consent needs of a claim: its id, channel and the identities of reporter and insured."""

    @property
    def id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def reporter_openid(self) -> str | None: ...
    @property
    def insured_id_bidx(self) -> str | None: ...


def check_claim_consent(session: Session, *, claim: ClaimSubjects, category: str, actor: str,
                        now: dt.datetime) -> None:
    """Before processing ``category`` of a claim: see :func:`ensure_consent` (claim's identities)."""
    ensure_consent(session, category=category, channel=claim.channel, actor=actor,
                   user_id=claim.reporter_openid, id_bidx=claim.insured_id_bidx, now=now, claim_id=claim.id)


def is_medical_material(material_id: str) -> bool:
    """True for checklist items that are medical records (``config/consent.yaml``)."""
    return material_id in consent_config().medical_materials


def accept_privacy_notice(session: Session, *, channel: str, user_id: str, version: str, actor: str,
                          now: dt.datetime | None = None) -> ConsentEvent:
    """The customer read and accepted the privacy notice of ``version`` (it must be the current one)."""
    current = consent_config().notice.version
    if version != current:
        raise ServiceError("privacy_notice_outdated", "隐私保护说明已经更新，请重新阅读",
                           detail={"field": "version", "current": current})
    event = ConsentEvent(category=PRIVACY_NOTICE, granted=True, text_version=version, at=now or utcnow(),
                         channel=channel, user_id=user_id, actor=actor[:100])
    session.add(event)
    session.flush()
    return event


def privacy_notice_accepted(session: Session, *, channel: str, user_id: str) -> str | None:
    """The version of the privacy notice this customer accepted (None when never, or when the latest
    decision about it is a withdrawal: an erased account starts again from the notice)."""
    event = session.scalars(
        select(ConsentEvent).where(ConsentEvent.category == PRIVACY_NOTICE, ConsentEvent.channel == channel,
                                   ConsentEvent.user_id == user_id)
        .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc()).limit(1)).first()
    return event.text_version if event is not None and event.granted else None


def withdraw_privacy_notice(session: Session, *, channel: str, user_id: str, version: str, actor: str,
                            now: dt.datetime | None = None) -> ConsentEvent:
    """The customer's acceptance of the privacy notice of ``version`` ends (the account is erased)."""
    event = ConsentEvent(category=PRIVACY_NOTICE, granted=False, text_version=version, at=now or utcnow(),
                         channel=channel, user_id=user_id, actor=actor[:100])
    session.add(event)
    session.flush()
    return event


def require_privacy_notice(session: Session, *, channel: str, user_id: str) -> None:
    """Forbidden("privacy_notice_required") unless the current privacy notice was accepted."""
    if privacy_notice_accepted(session, channel=channel, user_id=user_id) != consent_config().notice.version:
        raise Forbidden("privacy_notice_required", "请先阅读并同意隐私保护说明",
                        detail={"version": consent_config().notice.version})
