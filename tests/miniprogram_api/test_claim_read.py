"""The claim detail's reads: in one statement on PostgreSQL (JSON arrays of the checklist, files, history
and notices), in a statement per table elsewhere; on the same claim both give the same detail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.accounts.models import CustomerAccount
from backend.claims.attachments import attach_media
from backend.claims.materials import mark_material
from backend.jobs.runner import Executor
from miniprogram_api.claim_read import read_apart, read_detail, read_in_one
from miniprogram_api.claims import claim_book, claim_view
from tests.backend.notices.conftest import run_due
from tests.miniprogram_api.conftest import API, MP
from tests.miniprogram_api.test_claim_notices import TEMPLATE, executor  # noqa: F401 (a fixture)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # the one statement is PostgreSQL's
def test_one_statement_and_a_statement_per_table_give_the_same_detail(mp: MP, executor: Executor) -> None:  # noqa: F811
    assert mp.db.get_bind().dialect.name == "postgresql"
    openid = "oClaimRead0001"
    headers = mp.login(openid)
    mp.fake.accept(openid, TEMPLATE)
    r = mp.client.post(
        f"{API}/notifications/subscriptions",
        headers={**headers, "Idempotency-Key": "claim-read-accept-1"},
        json={"results": [{"template_id": TEMPLATE, "status": "accept"}]},
    )
    assert r.status_code == 200, r.text
    claim = mp.report(headers, mp.bind(headers)).json()
    run_due(mp.runtime, executor, mp.runtime.clock)  # type: ignore[arg-type]
    cipher, calendar = mp.runtime.cipher, mp.runtime.calendar
    for material in ("hospitalisation_proof", "itemised_bill"):
        mark_material(mp.db, cipher=cipher, claim_id=claim["id"], material_id=material, received=True,
                      actor="staff:1", calendar=calendar)
    for i in range(2):
        attach_media(mp.db, cipher=cipher, claim_id=claim["id"], channel="mini_program", actor="test",
                     media_id=f"claim-read-{i}", size_bytes=1000 + i,
                     material_id="itemised_bill" if i else None)
    mp.db.commit()
    account = mp.db.scalar(select(CustomerAccount).where(CustomerAccount.openid == openid))
    assert account is not None
    book, now = claim_book(mp.runtime), mp.runtime.clock()
    views = []
    for read in (read_in_one, read_apart):
        got = read(mp.db, account_id=account.id, openid=openid, claim_id=claim["id"], book=book)
        assert got is not None
        views.append(
            claim_view(mp.db, got.claim, cipher=cipher, calendar=calendar, book=book, now=now, read=got)
        )
    one, apart = views
    assert one == apart
    assert one.notices and one.notices[0].sent_at and len(one.attachments) == 2
    assert [t.kind for t in one.timeline].count("material") == 2 and any(t.detail for t in one.timeline)
    assert [c.files for c in one.checklist if c.material_id == "itemised_bill"] == [1]
    # Another customer, the account with another openid, or an account that is gone: nothing, on both paths.
    mp.login("oClaimReadOther")
    other = mp.db.scalar(select(CustomerAccount).where(CustomerAccount.openid == "oClaimReadOther"))
    assert other is not None
    gone = other.id + 1  # created after every account of this test
    for who, its_openid in ((other.id, "oClaimReadOther"), (account.id, "oSomeoneElse"), (gone, openid)):
        for read in (read_in_one, read_apart, read_detail):
            assert read(mp.db, account_id=who, openid=its_openid, claim_id=claim["id"], book=book) is None
