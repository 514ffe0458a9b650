"""While a person has the conversation (queued, or taken by an agent): the bot stays quiet.

Every message goes to the person (:func:`backend.handoff.customer.customer_message`). The bot still
answers four things: 取消 while queued (the customer leaves the queue and talks to the bot again),
someone hurt now (call 120 first: waiting for a person must never delay that), 回电 (a call-back
request, offered with the wait), and, while nobody has taken it yet, a plain question of the rules
(几点下班, 材料要原件吗) it is sure of, once per topic. After the agent closes the chat, the
customer's first message may be the 1–5 answer to the satisfaction question; after that the
conversation is the bot's again.

``state.notes["handoff"]`` marks a conversation a person has or had: the offline path hands such a
turn to the database (:func:`needs_database`), where :func:`handle` decides.
"""

from __future__ import annotations

from typing import Any

from backend.handoff import customer
from backend.handoff.models import HandoffRequest
from backend.handoff.service import request_handoff
from bot.dialogue import emergency, faq, memory, understanding
from bot.dialogue.context import Turn, parse_digit
from bot.dialogue.desk import AFTER_HOURS, HandoffDesk
from bot.dialogue.state import State

NOTE = "handoff"


def needs_database(state: State) -> bool:
    """True when a person has (or just had) this conversation: only the database knows what to do."""
    return bool(state.notes.get(NOTE))


def handle(turn: Turn, row: HandoffRequest | None, desk: HandoffDesk, read: Any) -> bool:
    """Answer a message of a conversation a person has (``row``) or just closed; True when the turn
    is done (the bot says nothing more), False when the bot answers it as usual."""
    notes = turn.state.notes
    if row is None:
        notes.pop(AFTER_HOURS, None)
        notes.pop(_TOLD, None)
        if not notes.pop(NOTE, None):
            return False
        score = parse_digit(turn.text, 5) if len(turn.text) <= 3 else None
        if score is not None and customer.rate(
                turn.session, channel=turn.message.channel, user_id=turn.message.user_id, score=score,
                now=turn.now, cipher=turn.services.cipher, redis=desk.redis):
            turn.say("handoff_rate_thanks")
            return True
        return False
    notes[NOTE] = notes.get(NOTE) or "agent"
    if turn.message.kind in _SPOKEN and turn.text:
        turn.pred = read(turn)
        if row.status == "queued":
            memory.remember(turn)  # 120到了 送去人民医院: known if the bot takes the report after all
        takes = row.reason in _BOT_FAILED or notes.get(AFTER_HOURS)
        if row.status == "queued" and takes and _clear_request(turn):
            # 阮要投诉 after a handoff the bot's misunderstanding caused, or 现在可以报案吗 while nobody is
            # there until the morning: the bot takes the request itself (the report reaches staff anyway)
            customer.cancel_by_customer(turn.session, channel=turn.message.channel,
                                        user_id=turn.message.user_id, now=turn.now, redis=desk.redis)
            notes.pop(NOTE, None)
            notes.pop(AFTER_HOURS, None)
            return False
        if row.status == "queued" and turn.cue("cancel_words") and len(turn.text) <= 8:
            customer.cancel_by_customer(turn.session, channel=turn.message.channel,
                                        user_id=turn.message.user_id, now=turn.now, redis=desk.redis)
            notes.pop(NOTE, None)
            notes.pop(AFTER_HOURS, None)
            turn.say("handoff_cancelled")
            return True
    _forward(turn, desk)
    if turn.message.kind == "text" and emergency.is_urgent(turn):
        request_handoff(turn.session, channel=turn.message.channel, user_id=turn.message.user_id,
                        reason="urgent", cipher=turn.services.cipher, now=turn.now)  # moves it up
        turn.say("handoff_emergency")
    elif turn.message.kind == "text" and turn.cue("callback_words"):
        customer.leave_callback(turn.session, channel=turn.message.channel, user_id=turn.message.user_id,
                                now=turn.now, cipher=turn.services.cipher, calendar=turn.services.calendar,
                                summary=turn.text[:200])
        turn.say("handoff_callback_noted")
    elif row.status == "queued" and _plain_question(turn) and notes.get(_TOLD) != turn.pred.faq_topic:
        notes[_TOLD] = turn.pred.faq_topic  # the same answer is not sent twice; the person takes it on
        turn.say("handoff_meanwhile")  # nobody has it yet: a rule the bot knows, told while they wait
        faq.answer(turn, follow_up=False)
    if notes.get(AFTER_HOURS) is True and row.status == "queued" and not turn.replies:
        notes[AFTER_HOURS] = "noted"
        turn.say("handoff_message_noted")  # once: the message waits for the morning
    return True


_SPOKEN = ("text", "voice")
_BOT_FAILED = ("misunderstood", "stuck")  # handoffs the bot asked for, not the customer


def _clear_request(turn: Turn) -> bool:
    """True when the message asks in so many words for what the bot does itself (我要投诉, 我要报案), or
    tells a whole accident (阿公上礼拜六剖鱼割着手指…前日入潮南区人民医院: the report, typed for him)."""
    if turn.state.notes.get("emergency") and (turn.cue("at_hospital_words") or turn.cue("help_called_words")):
        return True  # 救護車嚟咗 送去人民醫院 at night: the old person is cared for, the report can start
    return turn.cue("complaint_only_words") or (
        turn.confident and turn.pred.intent in ("claim_report", "home_visit")
        and (turn.cue("report_request_words") or turn.cue("visit_words")
             or (turn.pred.intent == "claim_report" and understanding.report_like(turn)
                 and not turn.cue("already_reported_words"))))
_FAQ_INTENTS = ("product_question", "claim_materials", "contact_info")
_TOLD = "told_while_waiting"
_FAQ_SURE = 0.6  # the topic's score: a question that clearly is that topic


def _plain_question(turn: Turn) -> bool:
    """True when a waiting customer asks a question of the rules (材料要原件吗, 几点下班) the bot can
    answer with confidence; the person still gets the message."""
    return (turn.message.kind in _SPOKEN and bool(turn.text) and turn.confident
            and turn.pred.intent in _FAQ_INTENTS and bool(turn.pred.faq_topic)
            and turn.pred.faq_score >= _FAQ_SURE and not turn.cue("human_phrases"))


# What an agent reads for a message that is not text (staff-facing).
_KIND_NOTE = {"voice": "（语音）", "image": "（客户发来一张图片）", "location": "（客户发来一个位置）",
              "link": "（客户发来一个链接）", "video": "（客户发来一段视频）",
              "shortvideo": "（客户发来一段视频）", "file": "（客户发来一个文件）"}


def _forward(turn: Turn, desk: HandoffDesk) -> None:
    """The customer's message for the person (not text: a short note of what it was)."""
    kind = turn.message.kind
    if kind == "text":
        text = turn.text
    elif kind in _KIND_NOTE:
        text = _KIND_NOTE[kind] + (turn.text if kind == "voice" else "")
    else:
        return  # events (subscribe, menu clicks) are not messages for the person
    if not text:
        return
    customer.customer_message(turn.session, channel=turn.message.channel, user_id=turn.message.user_id,
                              text=text, now=turn.now, cipher=turn.services.cipher, redis=desk.redis)
