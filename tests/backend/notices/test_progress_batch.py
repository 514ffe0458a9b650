"""The progress batch writes the same notices whether Python writes them (SQLite) or PostgreSQL does
(one statement per batch, for 100,000 claims in seconds): compared on one set of claims."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.claims import service as claims
from backend.hooks import JobRow
from backend.jobs import service as jobs
from backend.jobs.models import Job
from backend.notices import progress
from backend.notices import service as notices
from backend.notifications import subscriptions
from backend.outbox import PROGRESS_KIND, SEND_KIND
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import calendar
from tests.backend.jobs.conftest import Clock
from tests.backend.notices.conftest import report


def _payloads(db: Session) -> dict[str, Any]:
    q = select(Job).where(Job.kind == SEND_KIND, Job.key.like("%:progress:%"))
    return {j.key: j.payload for j in db.scalars(q)}


@pytest.fixture
def pg_db(postgres_engine: Engine) -> Iterator[Session]:
    """A session on PostgreSQL only (the SQL path is PostgreSQL's; SQLite runs the Python path in
    every other notice test), rolled back afterwards."""
    conn = postgres_engine.connect()
    trans = conn.begin()
    session = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)()
    yield session
    session.close()
    trans.rollback()
    conn.close()


def test_progress_notices_written_by_postgresql_equal_pythons(pg_db: Session, cipher: FieldCipher,
                                                              catalog: Any) -> None:
    db, clock = pg_db, Clock()
    wechat = report(db, cipher, catalog, now=clock(), seq="41", openid="oProgA")
    notices.set_channel_order(db, openid="oProgA", channels=["sms", "wechat_template"], now=clock())
    subscriptions.set_preferences(db, channel="official_account", openid="oProgA", wechat=True, sms=False)
    mini = report(db, cipher, catalog, now=clock(), seq="42", openid="oProgB", channel="mini_program")
    phone = report(db, cipher, catalog, now=clock(), seq="43", openid=None)
    for m in phone.materials:
        claims.mark_material(db, cipher=cipher, claim_id=phone.id, material_id=m.material_id, received=True,
                             actor="staff:1", now=clock(), calendar=calendar())
    closed = report(db, cipher, catalog, now=clock(), seq="44", openid="oProgC")
    claims.transition_claim(db, cipher=cipher, calendar=calendar(), claim_id=closed.id, to_state="withdrawn",
                            actor="staff:1", reason="x", now=clock())
    rows = []
    for c in (wechat, mini, phone, closed):
        jobs.schedule(db, kind=PROGRESS_KIND, key=str(c.id), due_at=clock(),
                      payload={"phone_purpose": "claims.reporter_phone"}, now=clock())
        j = jobs.get_job(db, kind=PROGRESS_KIND, key=str(c.id))
        assert j is not None
        rows.append(JobRow(id=j.id, kind=j.kind, key=j.key, payload=j.payload, attempts=1, token=1))
    db.flush()
    today = clock().date()
    every_py = progress._write_in_python(db, rows, today=today, now=clock())
    by_python = _payloads(db)
    db.execute(delete(Job).where(Job.kind == SEND_KIND, Job.key.like("%:progress:%")))
    every_sql = progress._write_in_sql(db, rows, today=today, now=clock())
    by_sql = _payloads(db)
    assert by_sql == by_python
    assert len(by_python) == 3  # the withdrawn claim gets none
    assert every_sql == every_py and set(every_py.values()) == {3}
    to_a = by_python[f"claim:{wechat.id}:progress:{today.isoformat()}"]["to"]
    assert to_a["channels"] == ["sms", "wechat_template"] and to_a["app"] == "official_account"
    assert to_a["off"] == ["sms"]
    assert by_python[f"claim:{mini.id}:progress:{today.isoformat()}"]["to"]["app"] == "miniprogram"
    phone_params = by_python[f"claim:{phone.id}:progress:{today.isoformat()}"]["params"]
    assert phone_params["state"] == "under_review" and "date" in phone_params
