"""The queue is shared by the whole test database: each test here starts with nobody waiting or
talking to an agent (conversation tests elsewhere commit handoffs and leave them open)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.handoff.models import HandoffRequest


@pytest.fixture(autouse=True)
def empty_queue(sessions: sessionmaker[Session]) -> Iterator[None]:
    with sessions() as s:
        s.execute(update(HandoffRequest).where(HandoffRequest.status.in_(("queued", "agent")))
                  .values(status="closed", disposition="test_cleanup"))
        s.commit()
    yield
