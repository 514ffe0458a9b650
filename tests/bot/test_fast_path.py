"""The webhook's fast path with the real dialogue engine (real NLU, Redis, SQLite and PostgreSQL).

Turns that need no database read run in the event loop; their claim is pipelined with the others of
the loop iteration and brings back the dialogue state and the "a person owns this chat" mark; their
rows are group-committed (catalogue W-09, W-17, F-R2, F-P1 on this path).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from backend.conversations.turn_models import ConversationTurn
from backend.conversations.turns import turn_text
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.service import AGENT_OWNED_KEY, mirror_agent_owned, set_agent_owned
from backend.runtime import Runtime
from bot.contract import InboundMessage
from bot.dialogue.engine import build_engine
from bot.inbox_protocol import DONE, PENDING, message_key, user_lock_key
from bot.processing import Processor
from tests.bot.conftest import Harness, build_harness, failing_commits, inner_text_xml, make_runtime, uid
from tests.support.fake_wechat import FakeWechat
from tests.support.servers import RedisServer

FAQ = "住院一天赔多少钱"
FAQ_MARK = "30元"




def processor(rt: Runtime) -> Processor:
    proc: Processor = rt.wechat.processor
    return proc


def turns_of(rt: Runtime, user: str) -> list[ConversationTurn]:
    with rt.sessions() as s:
        return list(s.scalars(select(ConversationTurn).where(ConversationTurn.user_id == user)
                              .order_by(ConversationTurn.id)).all())


def test_faq_turn_is_answered_stored_and_finished_without_a_worker_thread(
        live: tuple[Harness, Runtime]) -> None:
    wx, rt = live
    proc = processor(rt)
    assert proc.committer is not None
    before = proc.committer.items
    user, msg_id = "oFast" + uid(), uid()
    answer = wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=msg_id, user=user)))["Content"]
    assert FAQ_MARK in answer
    assert proc.committer.items == before + 1  # group-committed, not run by the full path
    [turn] = turns_of(rt, user)
    assert turn.intent == "product_question" and turn.msg_key == f"m:{msg_id}"
    assert [row.status for row in wx.inbox(f"m:{msg_id}")] == ["done"]
    # a retry gets the same answer
    assert (rt.redis.get(message_key(f"m:{msg_id}")) or b"")[:1] == DONE.encode()
    assert rt.redis.get(user_lock_key(user)) is None  # per-user lock released
    engine = rt.turn_handler
    state, ok = engine.store.load("official_account", user)
    assert ok and state.choice is not None  # the follow-up offer is remembered for the next turn


def test_turn_needing_the_database_runs_the_full_way_with_its_claim(live: tuple[Harness, Runtime]) -> None:
    wx, rt = live
    proc = processor(rt)
    assert proc.committer is not None
    before = proc.committer.items
    user, msg_id = "oFull" + uid(), uid()
    answer = wx.reply_fields(wx.post(inner_text_xml("转人工", msg_id=msg_id, user=user)))["Content"]
    assert answer
    assert proc.committer.items == before  # the handoff writes a row: full path
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(HandoffRequest).where(
            HandoffRequest.user_id == user)) == 1
    assert len(turns_of(rt, user)) == 1 and len(wx.inbox(f"m:{msg_id}")) == 1
    assert (rt.redis.get(message_key(f"m:{msg_id}")) or b"")[:1] == DONE.encode()
    assert rt.redis.get(user_lock_key(user)) is None


def test_bot_stays_quiet_while_a_person_owns_the_chat(live: tuple[Harness, Runtime]) -> None:
    wx, rt = live
    user = "oAgent" + uid()
    with rt.sessions() as s:
        s.add(HandoffRequest(channel="official_account", user_id=user, reason="asked", status="agent"))
        s.commit()
        assert mirror_agent_owned(s, rt.redis) >= 1
    r = wx.post(inner_text_xml(FAQ, msg_id=uid(), user=user))
    assert r.status_code == 200 and r.text == "success"  # no bot reply: the agent answers
    assert len(turns_of(rt, user)) == 1  # the message is still logged for the agent
    with rt.sessions() as s:
        [row] = s.scalars(select(HandoffRequest).where(HandoffRequest.user_id == user))
        [msg] = s.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == row.id))
        assert msg.direction == "customer" and row.unread == 1  # waiting for the agent
        row.status = "closed"  # the agent closes the chat
        s.commit()
    set_agent_owned(rt.redis, channel="official_account", user_id=user, owned=False)
    answer = wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=uid(), user=user)))["Content"]
    assert FAQ_MARK in answer


def test_mirror_is_rebuilt_from_the_database(live: tuple[Harness, Runtime]) -> None:
    _wx, rt = live
    user = "oMirror" + uid()
    rt.redis.sadd(AGENT_OWNED_KEY, "stale-member")
    with rt.sessions() as s:
        row = HandoffRequest(channel="official_account", user_id=user, reason="asked", status="agent")
        s.add(row)
        s.commit()
        mirror_agent_owned(s, rt.redis)
        members = rt.redis.smembers(AGENT_OWNED_KEY)
        assert b"stale-member" not in members and len(members) >= 1
        row.status = "closed"
        s.commit()
        mirror_agent_owned(s, rt.redis)
    from backend.handoff.service import conversation_digest

    assert not rt.redis.sismember(AGENT_OWNED_KEY, conversation_digest("official_account", user))


def test_concurrent_turns_share_commits_and_copies_share_one_turn(live: tuple[Harness, Runtime]) -> None:
    """W-09 on the fast path: 20 users and 8 copies of one message, all at once."""
    wx, rt = live
    proc = processor(rt)
    assert proc.committer is not None
    batches, items = proc.committer.batches, proc.committer.items
    users = [f"oMany{uid()}" for _ in range(20)]
    copy_user, copy_id = "oCopies" + uid(), uid()
    requests = [wx.request_args(inner_text_xml(FAQ, msg_id=uid(), user=u)) for u in users]
    copy = wx.request_args(inner_text_xml(FAQ, msg_id=copy_id, user=copy_user))
    responses = asyncio.run(wx.concurrent(requests + [copy] * 8))
    answers = [wx.reply_fields(r)["Content"] for r in responses]
    assert all(FAQ_MARK in a for a in answers)
    assert len(set(answers[20:])) == 1  # the copies: one answer
    assert proc.committer.items - items == 21  # 20 users + 1 for all copies
    assert proc.committer.batches - batches <= 5  # committed together, not one by one
    assert len(turns_of(rt, copy_user)) == 1 and len(wx.inbox(f"m:{copy_id}")) == 1
    assert all(len(turns_of(rt, u)) == 1 for u in users)


def test_w17_same_user_turns_run_in_order_on_the_fast_path(live: tuple[Harness, Runtime]) -> None:
    """The second message ("1": take the offered follow-up) needs the state the first one leaves."""
    wx, rt = live
    user = "oOrder" + uid()
    first = wx.request_args(inner_text_xml(FAQ, msg_id=uid(), user=user))
    second = wx.request_args(inner_text_xml("1", msg_id=uid(), user=user))
    r1, r2 = asyncio.run(wx.concurrent([first, second]))
    assert FAQ_MARK in wx.reply_fields(r1)["Content"]
    follow_up = wx.reply_fields(r2)["Content"]
    turns = turns_of(rt, user)
    assert [turn_text(t, "user_text", cipher=rt.cipher) for t in turns] == [FAQ, "1"]
    assert turns[1].slots.get("choice")  # answered as the pick of the offered follow-up
    assert follow_up and FAQ_MARK not in follow_up


def test_f_p2_repeated_confirmation_creates_one_claim(live: tuple[Harness, Runtime]) -> None:
    """A redelivered "yes" and a "yes" sent again after the state was lost create one claim (moved here
    from the dialogue tests: a redelivery is deduplicated by the webhook, not by the engine)."""
    from backend.claims.models import Claim
    from tests.bot.dialogue.conftest import ZHANG_ID, ZHANG_PHONE

    wx, rt = live
    user = "oRepeat" + uid()

    def say(text: str, msg_id: str | None = None) -> str:
        r = wx.post(inner_text_xml(text, msg_id=msg_id or uid(), user=user))
        return wx.reply_fields(r)["Content"]

    for text in ("我妈昨天在家摔倒住院了", "张秀英", "1", ZHANG_ID, "家里", "没有", ZHANG_PHONE):
        say(text)
    state_key = rt.turn_handler.state_key(wx_message(user))
    state_before = rt.redis.get(state_key)
    msg_id = uid()
    first = say("1", msg_id)
    # WeChat redelivers the same message: same answer, nothing done twice (W-09)
    again = say("1", msg_id)
    assert again == first
    # the state was lost after the commit (e.g. Redis hiccup): the same "yes" is sent again
    rt.redis.set(state_key, state_before)
    third = say("1")
    with rt.sessions() as s:
        claims = list(s.scalars(select(Claim).where(Claim.reporter_openid == user)))
        turns = s.scalar(select(func.count()).select_from(ConversationTurn).where(
            ConversationTurn.msg_key == f"m:{msg_id}"))
    assert len(claims) == 1
    assert claims[0].case_no in third
    assert turns == 1


def wx_message(user: str) -> InboundMessage:
    return InboundMessage(channel="official_account", user_id=user, kind="text")


def test_fp1_group_commit_fails_nothing_written_claim_released_then_retry(
        live: tuple[Harness, Runtime], engine: Engine) -> None:
    wx, rt = live
    user, msg_id = "oFail" + uid(), uid()
    inner = inner_text_xml(FAQ, msg_id=msg_id, user=user)

    with failing_commits(engine):
        r = wx.post(inner)
    assert r.status_code == 503 and r.content == b""
    assert turns_of(rt, user) == [] and wx.inbox(f"m:{msg_id}") == []
    assert rt.redis.get(message_key(f"m:{msg_id}")) is None and rt.redis.get(user_lock_key(user)) is None
    engine_ = rt.turn_handler
    assert rt.redis.get(engine_.store.key("official_account", user)) is None  # state not saved
    assert FAQ_MARK in wx.reply_fields(wx.post(inner))["Content"]  # WeChat's retry
    assert len(turns_of(rt, user)) == 1


def test_dropped_database_connection_is_reopened_without_failing_the_turn(
        live: tuple[Harness, Runtime]) -> None:
    """After a database restart the committer's kept connection is dead: the batch is retried once."""
    wx, rt = live
    proc = processor(rt)
    assert proc.committer is not None
    assert FAQ_MARK in wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=uid())))["Content"]
    conn = proc.committer._conn
    assert conn is not None
    conn.invalidate()  # what a server restart does to it: the next use fails as a disconnect
    proc.committer._conn = _Disconnecting(conn)  # type: ignore[assignment]
    user = "oReopen" + uid()
    assert FAQ_MARK in wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=uid(), user=user)))["Content"]
    assert len(turns_of(rt, user)) == 1


class _Disconnecting:
    """A connection whose next transaction fails as a dropped connection (once)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def begin(self) -> Any:
        from sqlalchemy.exc import DBAPIError

        err = DBAPIError("BEGIN", None, Exception("server closed the connection unexpectedly"),
                         connection_invalidated=True)
        raise err

    def invalidate(self) -> None:
        self.real.invalidate()

    def close(self) -> None:
        self.real.close()


def test_scripts_are_loaded_again_after_a_redis_script_flush(live: tuple[Harness, Runtime]) -> None:
    wx, rt = live
    assert FAQ_MARK in wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=uid())))["Content"]
    rt.redis.script_flush()  # what a Redis restart does
    user = "oFlush" + uid()
    assert FAQ_MARK in wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=uid(), user=user)))["Content"]
    assert rt.redis.get(user_lock_key(user)) is None


def test_slow_commit_answers_success_and_sends_through_the_customer_service_api__w14(
        engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat,
        nlu: Any) -> None:
    """Past the passive budget: "success", and the reply follows through the 客服 API.

    PostgreSQL commits in the committer's thread, so the request answers "success" as soon as the
    budget runs out. SQLite commits in the loop itself (a local file write), so the request learns
    only when the commit ends that its budget ran out meanwhile: it must not answer with a passive
    reply WeChat may no longer read (issue 8, item 15), it answers "success" then too.
    """
    rt = make_runtime(engine, redis_server.url, runtime)
    wx, client = build_harness(rt, fake_wechat, passive_reply_budget_s=0.2)
    rt.turn_handler = build_engine(rt, nlu=nlu)
    user = "oSlow" + uid()
    fake_wechat.user_wrote(user)

    def slow_commit(_conn: object) -> None:
        time.sleep(0.6)

    with client:
        event.listen(engine, "commit", slow_commit)
        try:
            msg_id = uid()
            r = wx.post(inner_text_xml(FAQ, msg_id=msg_id, user=user))
            deadline = time.time() + 5
            # (the inbox row records the real delivery after the send, in a commit of its own)
            while time.time() < deadline and not (fake_wechat.sent and turns_of(rt, user) and [
                    row for row in wx.inbox(f"m:{msg_id}") if row.delivery != "passive"]):
                time.sleep(0.05)
        finally:  # (after the commits: a thread may be running the listeners)
            event.remove(engine, "commit", slow_commit)
        assert r.status_code == 200 and r.text == "success"
        assert [FAQ_MARK in m["text"]["content"] for m in fake_wechat.sent] == [True]
        assert len(turns_of(rt, user)) == 1
        assert wx.inbox(f"m:{msg_id}")[0].delivery == "custom_service"
    rt.wechat.processor.close()
    rt.redis.close()


@pytest.mark.parametrize("fault", ["blackhole", "stopped"])
def test_fr1_redis_fault_on_the_fast_path_still_answers_once(
        engine: Engine, runtime: Runtime, fake_wechat: FakeWechat, nlu: Any, fault: str) -> None:
    """F-R1/F-R2 with the real engine: the claim pipeline times out or is refused, the full path
    answers (the database's unique msg_key dedupes), well inside WeChat's 5 s."""
    import socket

    from tests.support.servers import start_redis

    server = start_redis()
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(1)
    rt = make_runtime(engine, server.url, runtime)
    wx, client = build_harness(rt, fake_wechat)
    rt.turn_handler = build_engine(rt, nlu=nlu)
    try:
        with client:
            assert FAQ_MARK in wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=uid())))["Content"]
            if fault == "stopped":
                server.stop()
            else:  # every new connection goes to a port that accepts and never answers
                rt.redis.connection_pool.reset()
                rt.redis.connection_pool.connection_kwargs["port"] = hole.getsockname()[1]
            user, msg_id = "oFault" + uid(), uid()
            started = time.monotonic()
            r = wx.post(inner_text_xml(FAQ, msg_id=msg_id, user=user))
            # one socket timeout (0.3 s) for the claim, the same for the new connection's handshake
            assert time.monotonic() - started < 1.5
            assert FAQ_MARK in wx.reply_fields(r)["Content"]
            again = wx.post(inner_text_xml(FAQ, msg_id=msg_id, user=user))  # WeChat's retry
            assert FAQ_MARK in wx.reply_fields(again)["Content"]
            assert len(turns_of(rt, user)) == 1 and len(wx.inbox(f"m:{msg_id}")) == 1
    finally:
        rt.wechat.processor.close()
        hole.close()
        server.stop()


# -- review fixes: leftover claims, lost commit acknowledgements, loop never blocked -----------------
def _item(msg_key: str, reply_enc: str) -> Any:
    from backend.conversations import service as conv
    from bot.group_commit import CommitItem

    user = "oItem" + uid()
    return CommitItem(
        msg_key=msg_key, turn_row=None,
        inbox_row=conv.inbox_row(msg_key=msg_key, openid=user, msg_type="text", event=None,
                                 content_enc=None, reply_enc=reply_enc, delivery="passive"),
        reply_enc=reply_enc)


def test_leftover_claim_expires_before_the_retry_gives_up(
        engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat,
        nlu: Any) -> None:
    """A "being processed" mark left by a failure (a 503 while Redis also failed) must not make
    WeChat's retry answer "success" for a message nobody processed: the mark is short-lived."""
    rt = make_runtime(engine, redis_server.url, runtime)
    wx, client = build_harness(rt, fake_wechat, claim_ttl_s=1)
    rt.turn_handler = build_engine(rt, nlu=nlu)
    user, msg_id = "oLeft" + uid(), uid()
    seen: list[int] = []

    def claim_ttl_during_commit(_conn: object) -> None:
        seen.append(int(rt.redis.ttl(message_key(f"m:{msg_id}"))))

    with client:
        event.listen(engine, "commit", claim_ttl_during_commit)
        try:  # both paths: the mark written while the message is processed is short-lived
            wx.post(inner_text_xml("转人工", msg_id=msg_id, user=user))
            msg_id = uid()
            wx.post(inner_text_xml(FAQ, msg_id=msg_id, user=user))
        finally:
            event.remove(engine, "commit", claim_ttl_during_commit)
        assert seen and all(0 < ttl <= 1 for ttl in seen), seen
        user, msg_id = "oLeft" + uid(), uid()
        rt.redis.set(message_key(f"m:{msg_id}"), PENDING, ex=1)  # left behind by the failed first delivery
        answer = wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=msg_id, user=user)))["Content"]
        assert FAQ_MARK in answer and len(turns_of(rt, user)) == 1
        ttl = rt.redis.ttl(message_key(f"m:{msg_id}"))
        assert ttl > 60  # the answer itself is remembered for the dedupe TTL
    rt.wechat.processor.close()
    rt.redis.close()


def test_lost_commit_acknowledgement_is_not_taken_for_a_duplicate(live: tuple[Harness, Runtime]) -> None:
    _wx, rt = live
    committer = processor(rt).committer
    assert committer is not None
    from bot.group_commit import Committed, Duplicate

    key = "m:" + uid()
    [first] = committer.store([_item(key, "token-A")])  # committed; suppose its acknowledgement never arrived
    assert first == Committed()
    [again] = committer.store([_item(key, "token-A")])  # the retry of the same batch
    assert again == Committed()  # our own row: committed
    [other] = committer.store([_item(key, "token-B")])  # a real copy processed elsewhere
    assert other == Duplicate("token-A")


def test_abandoned_duplicate_is_not_delivered_twice(
        engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat,
        nlu: Any) -> None:
    """A copy processed while Redis had forgotten the message, whose commit (a duplicate) ends past the
    passive budget: the winner answered it already, nothing goes through the 客服 API, and the winner's
    answer is remembered. (PostgreSQL commits in a thread, so the copy's request gives up; SQLite
    commits in the loop, so the copy gets the winner's answer itself.)"""
    rt = make_runtime(engine, redis_server.url, runtime)
    wx, client = build_harness(rt, fake_wechat, passive_reply_budget_s=0.2)
    rt.turn_handler = build_engine(rt, nlu=nlu)
    user, msg_id = "oDup" + uid(), uid()
    fake_wechat.user_wrote(user)
    inner = inner_text_xml(FAQ, msg_id=msg_id, user=user)

    def slow_commit(_conn: object) -> None:
        time.sleep(0.6)

    with client:
        first = wx.reply_fields(wx.post(inner))["Content"]
        winner = rt.redis.get(message_key(f"m:{msg_id}"))
        assert winner is not None and winner[:1] == b"D"
        rt.redis.delete(message_key(f"m:{msg_id}"))  # Redis forgot (restart, eviction): only the DB knows
        event.listen(engine, "commit", slow_commit)
        try:
            r = wx.post(inner)
            deadline = time.time() + 3
            while time.time() < deadline and rt.redis.get(message_key(f"m:{msg_id}")) in (
                    None, PENDING.encode()):
                time.sleep(0.05)
        finally:  # (after the commit: the committer's thread may be running the listeners)
            event.remove(engine, "commit", slow_commit)
        time.sleep(0.5)  # time for a (wrong) customer-service send to show
        if engine.dialect.name == "postgresql":
            assert r.status_code == 200 and r.text == "success"
        else:
            assert wx.reply_fields(r)["Content"] == first
        assert fake_wechat.sent == []
        assert rt.redis.get(message_key(f"m:{msg_id}")) == winner  # the winner's answer remembered
        assert len(turns_of(rt, user)) == 1
    rt.wechat.processor.close()
    rt.redis.close()


def test_window_is_cut_short_when_no_other_turn_is_under_way(live: tuple[Harness, Runtime]) -> None:
    """With uvloop too: a pending 10 s window is replaced by an immediate commit."""
    import uvloop

    from bot.group_commit import InlineCommitter

    _wx, rt = live
    proc = processor(rt)
    committer = InlineCommitter(engine=rt.engine, db_lock=proc.db_lock, window_s=10.0)

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        committer.turn_started()  # another turn is under way
        fut = committer.submit(_item("m:" + uid(), "token-E")).future
        await asyncio.sleep(0.05)
        assert not fut.done()  # waiting for the turns under way
        committer.turn_ended(loop)
        await asyncio.wait_for(fut, 2.0)
        return loop.time() - started

    assert uvloop.run(scenario()) < 1.0


def test_loop_keeps_answering_while_a_full_path_turn_holds_sqlite(live: tuple[Harness, Runtime]) -> None:
    """The inline commit does not wait in the loop for the full path's SQLite lock."""
    import threading

    wx, rt = live
    lock = processor(rt).db_lock
    user = "oLocked" + uid()
    held = threading.Event()
    released_at: list[float] = []

    def hold() -> None:
        lock.acquire()
        held.set()
        time.sleep(0.8)
        released_at.append(time.monotonic())
        lock.release()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    ts = str(int(time.time()))
    verify = {"params": {**wx.signed_params(None, aes=False, nonce="77"), "timestamp": ts, "echostr": "42"}}
    from bot.crypto import sha1_signature
    from tests.bot.conftest import TOKEN

    verify["params"]["signature"] = sha1_signature(TOKEN, ts, "77")

    async def both() -> tuple[float, Any, Any]:
        import httpx

        transport = httpx.ASGITransport(app=wx.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            push = asyncio.ensure_future(ac.post("/wechat", **wx.request_args(
                inner_text_xml(FAQ, msg_id=uid(), user=user))))
            await asyncio.sleep(0.1)  # the push is waiting to commit by now
            check = await ac.get("/wechat", **verify)
            return time.monotonic(), check, await push

    answered_at, check, push = asyncio.run(both())
    holder.join()
    assert check.status_code == 200 and check.text == "42"
    assert answered_at < released_at[0]  # answered while the lock was still held
    assert FAQ_MARK in wx.reply_fields(push)["Content"] and len(turns_of(rt, user)) == 1
