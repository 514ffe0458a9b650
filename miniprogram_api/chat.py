"""Chat with the dialogue engine and human agents: NOT BUILT YET (a later task).

It will use the web-chat channel of the agent-console issue: ``POST /mp/v1/chat/messages`` (send,
with an Idempotency-Key), ``GET /mp/v1/chat/messages?after=`` (poll) and a WebSocket at
``/mp/v1/chat/ws`` (authenticated with the same session token), answered by the dialogue engine that
``backend/app.py`` hands to this package (``miniprogram_api`` never imports ``bot``). Mount its
router in :mod:`miniprogram_api.router` next to the others.

The web chat page (``backend/webchat``, local mode) already does this for anonymous customers: reuse
``runtime.chat_turn(channel="mini_program", user_id=..., text=..., msg_key=...)`` (the engine, exactly
once per ``msg_key``: make it from the Idempotency-Key) and ``backend.webchat.service.lines_after``
(the customer's lines after a cursor, agents' replies once delivered) with the channel as a parameter.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["聊天"])
