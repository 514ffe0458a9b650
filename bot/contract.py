"""The turn-handler contract between the WeChat webhook and the dialogue engine.

The webhook turns each parsed WeChat message into an :class:`InboundMessage` and hands it to the
:class:`TurnHandler` registered in ``runtime.turn_handler``: first without a database
(:meth:`TurnHandler.handle_offline`, the fast path), and when that raises :class:`NeedsDatabase`, in
the webhook's transaction (:meth:`TurnHandler.handle_in`, the full path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

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
class TemplateEvent:
    """One template of a subscribe-message event (a ``<List>`` item): the user's choice (popup, change)
    or WeChat's delivery report of a send (sent)."""

    template_id: str
    status: str = ""  # accept | reject (popup, change); success | fail:... (sent)
    msg_id: str = ""  # sent: WeChat's id of the message
    error_code: int | None = None  # sent: 0 delivered, 43101 refused...


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
    templates: tuple[TemplateEvent, ...] = ()  # subscribe-message events: one per template


# The events the webhook hands to the turn handler; other events and unknown pushes are answered
# ``success`` (a template receipt is stored by the webhook itself).
HANDLED_EVENTS = frozenset({
    "subscribe", "unsubscribe", "click", "view", "scan", "location", "scancode_push",
    "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select",
})


def reaches_handler(message: InboundMessage) -> bool:
    """True when the turn handler is asked about ``message``."""
    return message.kind != "unknown" and (message.kind != "event" or message.event in HANDLED_EVENTS)


@dataclass(frozen=True, slots=True)
class BotReply:
    """One reply to the user: a text, or news articles."""

    text: str = ""
    news: tuple[NewsItem, ...] = ()


@dataclass(frozen=True, slots=True)
class StateWrite:
    """A Redis ``SET key value EX ttl_s`` to apply only after the turn's transaction committed."""

    key: str
    value: str
    ttl_s: int


@dataclass(frozen=True, slots=True)
class TurnResult:
    """The replies of a turn, and what to do once its transaction committed.

    ``state_writes`` are plain Redis writes the caller batches with its own (one round trip);
    ``after_commit`` callbacks run after them. Neither runs when the transaction fails.
    """

    replies: list[BotReply]
    state_writes: tuple[StateWrite, ...] = ()
    after_commit: tuple[Callable[[], None], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class OfflineTurn:
    """A turn answered without a database: its result, and its conversation-turn row for the caller
    to insert with its own rows (None: nothing to log)."""

    result: TurnResult
    turn_row: dict[str, Any] | None


class NeedsDatabase(BaseException):
    """The turn reached for the database during :meth:`TurnHandler.handle_offline`; nothing changed.

    ``resume`` is what the handler already worked out (opaque to the caller), handed back to
    :meth:`TurnHandler.handle_in` so that the work is not done twice. A BaseException so that no
    ``except Exception`` in a flow can swallow it.
    """

    def __init__(self, what: str = "", *, resume: object = None) -> None:
        super().__init__(what)
        self.resume = resume


class TurnHandler(Protocol):
    """Answers one inbound message; safe to call from the event loop and from worker threads."""

    def state_key(self, message: InboundMessage) -> str:
        """The Redis key of the sender's dialogue state (read by the webhook's claim)."""
        ...

    def handle_offline(self, message: InboundMessage, *, state_raw: bytes | str | None,
                       agent_owns: bool) -> OfflineTurn:
        """Answer without a database, from what the caller read in Redis (the state under
        :meth:`state_key`, the agent-owned mark); raises :class:`NeedsDatabase` when it cannot."""
        ...

    def handle_in(self, message: InboundMessage, *, session: Session, resume: object = None) -> TurnResult:
        """Answer in the caller's transaction: use ``session``, never commit nor roll back.

        The caller inserts its inbox row in the same transaction and commits, so the turn's effects and
        the message's "processed" mark are atomic; nothing outside the database (Redis state) may
        change before that commit. ``resume`` comes from :class:`NeedsDatabase`, if any.
        """
        ...
