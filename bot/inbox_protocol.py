"""What the webhook keeps in Redis: the keys, the values stored there, the Lua scripts, claim and finish.

One owner for the Redis side of exactly-once processing (``docs/wechat.md``, "Two paths"):

* ``wx:msg:<msg_key>``, the message's mark: ``P`` while a delivery processes it (a short TTL,
  ``CLAIM_TTL_S``), then ``D`` + the encrypted answer (:mod:`bot.answers`) for the dedupe TTL; ``D``
  alone when the answer went through the customer-service API (a copy then answers ``success``).
* ``wx:late:<msg_key>``: a copy of the message answered ``success`` while its first delivery was
  still at work; WeChat listens to nobody any more, so that delivery sends its answer through the
  customer-service API (its finish takes the mark).
* ``wx:user:<openid>``, the per-user lock (W-17); its value is the owner's token.
* ``dlg:state:<digest>``, the dialogue state (:mod:`bot.dialogue.state`); the openid is hashed.
* ``handoff:agent-owned``, the handoff domain's mirror of the conversations a person owns (read here,
  written by :mod:`backend.handoff.service`, which also owns the digest).
* ``wx:nonce:<timestamp>:<nonce>:<signature>``, the plaintext-mode replay guard (W-03).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.handoff.service import AGENT_OWNED_KEY, conversation_digest
from bot.contract import StateWrite
from bot.redis_guard import BatchScript

MESSAGE_PREFIX = "wx:msg:"
USER_LOCK_PREFIX = "wx:user:"
STATE_PREFIX = "dlg:state:"
NONCE_PREFIX = "wx:nonce:"
LATE_PREFIX = "wx:late:"
CHAT_LOCK_PREFIX = "chat:lock:"  # a chat channel's customer (web chat page): one message at a time
PENDING = "P"  # the message's mark while a delivery processes it
DONE = "D"  # + the encrypted answer: the message was processed
SENT_ELSEWHERE = DONE  # processed, the answer went through the customer-service API: copies say success
RELEASE = ""  # a finish with this answer drops the mark: WeChat's retry is processed again

__all__ = ["AGENT_OWNED_KEY", "CLAIM", "CLAIM_READ", "FINISH", "GIVE_UP", "LOCK_READ", "Claim", "Finish",
           "Mark", "conversation_digest"]


def message_key(msg_key: str) -> str:
    """The Redis key of a message's mark."""
    return MESSAGE_PREFIX + msg_key


def user_lock_key(user_id: str) -> str:
    """The Redis key of a user's lock."""
    return USER_LOCK_PREFIX + user_id


def state_key(channel: str, user_id: str, prefix: str = STATE_PREFIX) -> str:
    """The Redis key of a conversation's dialogue state (the openid is hashed, not stored)."""
    return prefix + conversation_digest(channel, user_id)


def chat_lock_key(channel: str, user_id: str) -> str:
    """The Redis key of a chat channel customer's lock (the id is hashed, not stored)."""
    return CHAT_LOCK_PREFIX + conversation_digest(channel, user_id)


# Drops a lock only when it is still the caller's (its value is the owner's token).
RELEASE_IF_OWNER = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
                    "return 0")


def late_key(msg_key: str) -> str:
    """The Redis key of the "a copy answered success" mark of a message."""
    return LATE_PREFIX + msg_key


def nonce_key(timestamp: str, nonce: str, signature: str) -> str:
    """The Redis key remembering a signed plaintext push (W-03)."""
    return f"{NONCE_PREFIX}{timestamp}:{nonce}:{signature}"


def done(token: str) -> str:
    """The mark of a processed message whose encrypted answer is ``token``."""
    return DONE + token


@dataclass(frozen=True, slots=True)
class Mark:
    """A message's mark as read from Redis: absent, pending (being processed) or done."""

    pending: bool
    token: str | None = None  # the encrypted answer once done

    @classmethod
    def read(cls, value: bytes | str | None) -> Mark | None:
        """The mark of a Redis value; None when there is none."""
        if not value:
            return None
        raw = value.decode() if isinstance(value, bytes) else value
        if raw[:1] == DONE:
            return cls(pending=False, token=raw[1:])
        return cls(pending=True)


# The full path's claim: the message's mark (SET NX) and the user lock, in one call.
# KEYS: message key, user lock; ARGV: claim TTL, owner, lock ms.
CLAIM = BatchScript("""
local c = redis.call('set', KEYS[1], 'P', 'NX', 'EX', ARGV[1])
if not c then return {0, redis.call('get', KEYS[1]) or ''} end
local l = redis.call('set', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3])
if l then return {1, '1'} end
return {1, '0'}
""")
# The fast path's claim: the same, and when the user lock is ours, the dialogue state and whether a
# person owns the conversation, all in one round trip.
# KEYS: message key, user lock, state key, agent-owned set; ARGV: claim TTL, owner, lock ms, member.
CLAIM_READ = BatchScript("""
local c = redis.call('set', KEYS[1], 'P', 'NX', 'EX', ARGV[1])
if not c then return {0, redis.call('get', KEYS[1]) or ''} end
local l = redis.call('set', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3])
if not l then return {1, '0'} end
return {1, '1', redis.call('get', KEYS[3]) or '', redis.call('sismember', KEYS[4], ARGV[4])}
""")
# Waiting for the user lock held by the same user's previous message (W-17). Same KEYS[2..4], ARGV[2..4].
LOCK_READ = BatchScript("""
local l = redis.call('set', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3])
return {1, l and '1' or '0', redis.call('get', KEYS[3]) or '', redis.call('sismember', KEYS[4], ARGV[4])}
""")
# KEYS: message key, user lock, late mark, then state keys; ARGV: answer ('' releases the claim), its
# TTL, lock owner, '1' when the answer is this delivery's own (it takes the late mark), then (value,
# TTL) per state key. The state is written before the lock is released (W-17). Returns 1 when a copy
# had answered success (the late mark was there): the answer is then stored as sent elsewhere.
FINISH = BatchScript("""
local late = 0
if ARGV[1] == '' then redis.call('del', KEYS[1]) else
  if ARGV[4] == '1' then late = redis.call('del', KEYS[3]) end
  redis.call('set', KEYS[1], late == 1 and 'D' or ARGV[1], 'EX', ARGV[2])
end
for i = 4, #KEYS do redis.call('set', KEYS[i], ARGV[2 * i - 3], 'EX', ARGV[2 * i - 2]) end
if redis.call('get', KEYS[2]) == ARGV[3] then redis.call('del', KEYS[2]) end
return late
""")
# A copy stops waiting for the first delivery: the stored answer if there is one by now, else ''
# after leaving the late mark. KEYS: message key, late mark; ARGV: the mark's TTL.
GIVE_UP = BatchScript("""
local v = redis.call('get', KEYS[1])
if v and string.sub(v, 1, 1) == 'D' then return v end
redis.call('set', KEYS[2], '1', 'EX', ARGV[1])
return ''
""")


def claim_call(msg_key: str, user_id: str, *, owner: str, claim_ttl_s: int,
               lock_ms: int) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of :data:`CLAIM`."""
    return [message_key(msg_key), user_lock_key(user_id)], [claim_ttl_s, owner, lock_ms]


def claim_read_call(msg_key: str, user_id: str, *, state: str, member: str, owner: str, claim_ttl_s: int,
                    lock_ms: int) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of :data:`CLAIM_READ` (and :data:`LOCK_READ`, which uses the same)."""
    return ([message_key(msg_key), user_lock_key(user_id), state, AGENT_OWNED_KEY],
            [claim_ttl_s, owner, lock_ms, member])


@dataclass(slots=True)  # (not frozen: built for every message, and a frozen init costs more)
class Claim:
    """The answer of a claim script, with named fields."""

    claimed: bool  # False: another delivery has (or had) this message
    locked: bool = False  # the per-user lock is ours
    state_raw: bytes | None = None  # the dialogue state (the fast path's claim only)
    agent_owns: bool = False  # a person owns the conversation (the fast path's claim only)

    @classmethod
    def read(cls, reply: list[Any]) -> Claim:
        """Parse ``{claimed, locked or mark[, state, agent-owned]}``."""
        if not int(reply[0]):
            return cls(claimed=False)
        return cls(claimed=True, locked=reply[1] == b"1",
                   state_raw=reply[2] if len(reply) > 2 else None,
                   agent_owns=bool(int(reply[3])) if len(reply) > 3 else False)


@dataclass(slots=True)  # (not frozen: built for every message)
class Finish:
    """One call of :data:`FINISH`: store the answer (or release the claim), write the state, unlock."""

    msg_key: str
    user_id: str
    owner: str
    answer: str  # :func:`done` (token), :data:`SENT_ELSEWHERE` or :data:`RELEASE`
    ttl_s: int  # of the stored answer
    writes: tuple[StateWrite, ...] = ()
    own: bool = False  # the answer is this delivery's turn (not a winner's): it takes the late mark

    def call(self) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV."""
        keys = [message_key(self.msg_key), user_lock_key(self.user_id), late_key(self.msg_key)]
        args: list[Any] = [self.answer, self.ttl_s, self.owner, "1" if self.own else "0"]
        for w in self.writes:
            keys.append(w.key)
            args += [w.value, w.ttl_s]
        return keys, args
