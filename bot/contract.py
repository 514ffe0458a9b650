"""The turn-handler contract between the WeChat webhook and the dialogue engine.

The webhook turns each parsed WeChat message into an :class:`InboundMessage` and asks the handler
registered in ``runtime.turn_handler`` for a list of :class:`BotReply`. The same contract
serves the mini-program chat (``channel="mini_program"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class NewsItem:
    """One article of a news (图文) reply."""

    title: str
    description: str = ""
    url: str = ""
    image_url: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A channel-agnostic user message, built from the parsed WeChat message."""

    channel: str  # "official_account" | "mini_program"
    user_id: str  # openid
    kind: str  # "text" | "voice" | "image" | "location" | "link" | "video" | "file" | "event" | "unknown"
    text: str = ""  # text Content, or voice Recognition
    media_id: str | None = None
    pic_url: str | None = None
    location: tuple[float, float, str] | None = None  # (lat, lon, label)
    event: str | None = None  # subscribe, unsubscribe, click, view, scan, templatesendjobfinish, ...
    event_key: str | None = None
    msg_key: str = ""  # dedupe key: MsgId, or FromUserName+CreateTime for events
    created_at: datetime | None = None  # aware UTC
    raw_type: str = ""


@dataclass(frozen=True, slots=True)
class BotReply:
    """One reply to the user: a text, or news articles."""

    text: str = ""
    news: tuple[NewsItem, ...] = ()


class TurnHandler(Protocol):
    """Answers one inbound message (synchronous; runs in a worker thread; owns its DB transaction)."""

    def handle(self, message: InboundMessage) -> list[BotReply]: ...


@dataclass(frozen=True, slots=True)
class StateWrite:
    """A Redis ``SET key value EX ttl_s`` to apply only after the turn's transaction committed."""

    key: str
    value: str
    ttl_s: int


@dataclass(frozen=True, slots=True)
class TurnResult:
    """The replies of a turn run in the caller's transaction, and what to do once it committed.

    ``state_writes`` are plain Redis writes the caller may batch with its own (one round trip);
    ``after_commit`` callbacks run after them. Neither runs when the transaction fails.
    """

    replies: list[BotReply]
    state_writes: tuple[StateWrite, ...] = ()
    after_commit: tuple[Callable[[], None], ...] = field(default=())


class TransactionalTurnHandler(TurnHandler, Protocol):
    """A handler that can run a turn inside the caller's transaction (the webhook's exactly-once path).

    ``handle_in`` uses ``session`` and never commits nor rolls back; the caller inserts its inbox
    row in the same transaction and commits, so the turn's effects and the message's "processed" mark
    are atomic. Nothing outside the database (Redis state) may change before that commit.
    """

    def handle_in(self, message: InboundMessage, *, session: Session) -> TurnResult: ...
