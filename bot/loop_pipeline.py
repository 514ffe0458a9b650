"""Redis script calls from the event loop, pipelined on the blocking client's connection.

The calls queued in one loop iteration go out as ONE pipeline, written at once; the loop goes on with
other work while Redis answers, and reads the answers when the socket is readable. One pipeline is in
flight per loop; calls queued meanwhile go in the next. This costs less CPU per call than a
``redis.asyncio`` call (``tests/bench/bench_webhook.py`` measures it). No answer within the socket
timeout: the guard's circuit opens and every call of the pipeline fails with RedisUnavailable.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any, NamedTuple

import redis
from redis.exceptions import NoScriptError

from bot.redis_guard import BatchScript, CircuitOpen, RedisGuard, RedisUnavailable


class _Call(NamedTuple):
    script: BatchScript
    keys: list[str]
    args: list[Any]
    future: asyncio.Future[Any]
    first: bool  # sent ahead of the others of its pipeline


class LoopPipeline:
    """Pipelines the script calls of each event loop (see the module docstring)."""

    def __init__(self, guard: RedisGuard) -> None:
        self.guard = guard
        self._pending: dict[asyncio.AbstractEventLoop, list[_Call]] = {}
        self._busy: set[asyncio.AbstractEventLoop] = set()
        self.pipelines = self.calls = 0  # counters for the benchmark and tests
        self.wait_s = 0.0  # time the loop spent reading answers

    async def run(self, script: BatchScript, keys: list[str], args: list[Any], *, first: bool = False) -> Any:
        """``script`` for these keys, in one pipeline with the other calls queued meanwhile (``first``:
        ahead of the calls without it). RedisUnavailable when Redis fails or the circuit is open."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        pending = self._pending.setdefault(loop, [])
        pending.append(_Call(script, keys, args, fut, first))
        if len(pending) == 1 and loop not in self._busy:
            loop.call_soon(self._flush, loop)
        return await fut

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send the queued calls as one pipeline and watch the socket for the answers."""
        if loop in self._busy:
            return  # sent when the pipeline in flight completes
        batch = self._pending.pop(loop, [])
        if not batch:
            return
        self.pipelines += 1
        self.calls += len(batch)
        batch.sort(key=lambda call: not call.first)  # stable
        pool = self.guard.client.connection_pool
        conn: Any = None
        try:
            if not self.guard.available:
                raise CircuitOpen("circuit open")
            conn = pool.get_connection()
            conn.send_packed_command(conn.pack_commands(
                [("EVALSHA", c.script.sha, len(c.keys), *c.keys, *c.args) for c in batch]))
            sock = conn._sock  # the blocking connection's socket, watched by the loop
            if sock is None:
                raise redis.ConnectionError("not connected")
        except Exception as exc:
            self._failed(conn, batch, exc)
            return
        self._busy.add(loop)
        timeout = float(pool.connection_kwargs.get("socket_timeout") or 1.0)
        timer = loop.call_later(timeout, self._answered, loop, conn, sock, batch, None)
        loop.add_reader(sock, self._answered, loop, conn, sock, batch, timer)

    def _answered(self, loop: asyncio.AbstractEventLoop, conn: Any, sock: Any, batch: list[_Call],
                  timer: asyncio.TimerHandle | None) -> None:
        """The pipeline's answers are readable (``timer`` set), or it timed out (``timer`` None)."""
        loop.remove_reader(sock)
        self._busy.discard(loop)
        if timer is None:
            self._failed(conn, batch, redis.TimeoutError("no answer in time"))
        else:
            timer.cancel()
            started = time.perf_counter()
            results: list[Any] = []
            try:
                for _ in batch:
                    try:
                        results.append(conn.read_response())
                    except redis.ResponseError as exc:  # an error reply, e.g. NOSCRIPT after a restart
                        results.append(exc)
            except Exception as exc:
                self._failed(conn, batch, exc)
                results = []
            else:
                self.guard.client.connection_pool.release(conn)
            finally:
                self.wait_s += time.perf_counter() - started
            if results:
                self._resolve(batch, results)
        self._flush(loop)  # what was queued meanwhile

    def _resolve(self, batch: list[_Call], results: list[Any]) -> None:
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:  # scripts flushed (Redis restarted): load them and run those calls again
            try:
                again = self.guard.call(functools.partial(
                    BatchScript.run_many, calls=[(batch[i].script, batch[i].keys, batch[i].args)
                                                 for i in missing]))
            except Exception as exc:
                again = [exc] * len(missing)
            for i, r in zip(missing, again, strict=True):
                results[i] = r
        for call, result in zip(batch, results, strict=True):
            if call.future.done():
                continue
            if isinstance(result, Exception):  # a script error (a bug) or Redis failing
                call.future.set_exception(RedisUnavailable(type(result).__name__))
            else:
                call.future.set_result(result)

    def _failed(self, conn: Any, batch: list[_Call], exc: BaseException) -> None:
        if conn is not None:
            conn.disconnect()
            self.guard.client.connection_pool.release(conn)
        if not isinstance(exc, RedisUnavailable):
            self.guard.trip(exc)
        for call in batch:
            if not call.future.done():
                call.future.set_exception(RedisUnavailable(type(exc).__name__))
