"""Chat with the dialogue engine and human agents: NOT BUILT YET (a later task).

It will use the web-chat channel of the agent-console issue: ``POST /mp/v1/chat/messages`` (send,
with an Idempotency-Key), ``GET /mp/v1/chat/messages?after=`` (poll) and a WebSocket at
``/mp/v1/chat/ws`` (authenticated with the same session token), answered by the dialogue engine that
``backend/app.py`` hands to this package (``miniprogram_api`` never imports ``bot``). Mount its
router in :mod:`miniprogram_api.router` next to the others.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["聊天"])
