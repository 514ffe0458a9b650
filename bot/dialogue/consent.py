"""Separate consent in chat (D-04): ask in plain words with numbered answers, record the answer.

The consent subject is the WeChat user (channel + openid); the texts and versions come from
``config/consent.yaml`` (``backend.privacy.service``). A user who already agreed is not asked again;
a "no" is recorded too (a refusal is a withdrawal) and the flow ends kindly, offering a person.
"""

from __future__ import annotations

from backend.privacy.service import consent_config, has_consent, record_consent, withdraw_consent
from backend.roster.idcard import InvalidIdNumber, validate_id_number
from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame

ID_HELD = "id_before_consent"  # an ID number sent before the consent question was answered
REFUSED_NOW = "id_refused_last_turn"  # the no was this turn: a "好吧 可以" next is a change of mind
_TOLD = frozenset({"relation", "relation_told", "date", "accident", "hospital", "name", "phone", "transport",
                   "address"})


def granted(turn: Turn, category: str) -> bool:
    """True when this WeChat user's latest decision about ``category`` is a grant."""
    msg = turn.message
    return has_consent(turn.session, category=category, channel=msg.channel, user_id=msg.user_id)


def ask(turn: Turn, frame: FlowFrame, category: str) -> None:
    """Ask for the consent (the frame waits at step ``consent_<category>``)."""
    frame.step = f"consent_{category}"
    turn.say("consent_ask", text=consent_config().texts[category].text)


def answer(turn: Turn, category: str) -> bool | None:
    """Record a 1 (yes) or 2 (no) answer; None when the message is no answer to the question."""
    n = turn.digit(2)
    refuses = turn.cue("refuse_words")
    # "不对 不是礼拜天 是礼拜六" corrects another answer: its "no" is not about the consent
    told = turn.noted & _TOLD
    if turn.cue("agree_words"):
        told -= {"relation", "relation_told"}  # 我是伊女儿，同意: who they are, and a yes
    corrects = bool(told) and not refuses
    yes = n == 1 or (n is None and not refuses and not corrects and (turn.cue("agree_words") or (
        turn.confident and turn.pred.intent == "affirm")))
    denies = turn.confident and turn.pred.intent == "deny" and not corrects
    no = n == 2 or (n is None and (refuses or denies))
    if not (yes or no):
        return None
    msg = turn.message
    record = record_consent if yes else withdraw_consent
    record(turn.session, category=category, channel=msg.channel, user_id=msg.user_id, actor="customer",
           now=turn.now)
    turn.log_slots[f"consent_{category}"] = "granted" if yes else "refused"
    return yes


def text_of(category: str) -> str:
    """The consent text of ``category`` (config/consent.yaml), as the customer is shown it."""
    return consent_config().texts[category].text


def record(turn: Turn, category: str) -> None:
    """Record a yes said in words before the question came (同意): the reply says what it covers."""
    msg = turn.message
    record_consent(turn.session, category=category, channel=msg.channel, user_id=msg.user_id,
                   actor="customer", now=turn.now)
    turn.log_slots[f"consent_{category}"] = "granted"


def refuse(turn: Turn, category: str) -> None:
    """Record a no said in passing (不同意，我要找真人): a refusal is a withdrawal (D-04)."""
    if category not in consent_config().texts:
        return
    msg = turn.message
    withdraw_consent(turn.session, category=category, channel=msg.channel, user_id=msg.user_id,
                     actor="customer", now=turn.now)
    turn.log_slots[f"consent_{category}"] = "refused"


def refused(turn: Turn, category: str) -> None:
    """Say kindly that nothing will be used, and how to go on with a person (the caller ends the flow)."""
    turn.say("consent_refused", label=consent_config().texts[category].label)


def hold_id(turn: Turn, frame: FlowFrame) -> bool:
    """An ID number sent before the consent was answered: held in the flow (encrypted) and used only
    once the customer agrees (:func:`use_held_id`), dropped if they refuse (:func:`drop_held_id`), so
    an elderly customer is not asked for it twice. True when this message held one."""
    number = _valid_id(turn)
    if number is None:
        return False
    turn.keep_secret(frame, ID_HELD, number)
    return True


def _valid_id(turn: Turn) -> str | None:
    """The valid ID number this message gives, if any."""
    raw = str((turn.pred.slots or {}).get("id_number") or "") or turn.extract.id_like(turn.norm)
    if not raw:
        return None
    try:
        return validate_id_number(raw, today=turn.today).number
    except InvalidIdNumber:
        return None


def sent_id(turn: Turn) -> bool:
    """True when the message gives an ID number (valid or mistyped)."""
    return bool((turn.pred.slots or {}).get("id_number") or turn.extract.id_like(turn.norm))


def agrees(turn: Turn, frame: FlowFrame | None = None) -> bool:
    """A yes to the ID number's use said in words before its question: 同意, or 可以用 / 要用就用 /
    用来报案无问题 said with the number (in this message, or held from one just before), never in a
    question or beside a no."""
    if turn.cue("refuse_words") or (turn.asks and turn.cue("consent_why_words")):
        return False
    if turn.cue("consent_words"):
        return True
    held = frame is not None and ID_HELD in frame.secret
    about_id = sent_id(turn) or turn.cue("consent_topic_words") or held
    return about_id and turn.cue("consent_use_words") and not turn.asks


def given_with_number(turn: Turn) -> bool:
    """The number and a yes in words in one message (身份证440514…，阮同意恁用 / 同意你们查): the yes
    recorded. True when it was."""
    if not (sent_id(turn) and agrees(turn)):
        return False
    record(turn, "id_number")
    return True


def by_sending(turn: Turn) -> bool:
    """The number itself, sent in answer to the question that said what it is for: a yes, recorded
    and said back (the customer may take it back at any time). False when no number was sent."""
    if not sent_id(turn):
        return False
    record(turn, "id_number")
    turn.say("consent_id_sent")
    return True


def after_yes(turn: Turn, frame: FlowFrame) -> bool:
    """"不同意" / "身份证不想给了" after the yes (the replies say it may be taken back at any time): the
    consent withdrawn and the number deleted from the report, which goes on without it; "我也同意"
    again: noted. True when the message was about the consent."""
    if turn.cue("consent_words") and not turn.cue("refuse_words") and not turn.asks:
        turn.say("noted")  # 伊仔在电话里讲可以用，我也同意
        return True
    if not (turn.cue("refuse_words") and turn.cue("consent_topic_words")):
        return False
    refuse(turn, "id_number")
    frame.secret.pop("id_number", None)
    frame.secret.pop(ID_HELD, None)
    frame.data.pop("consent_id", None)
    frame.data.pop("id_error", None)
    frame.data["no_id"] = True
    turn.say("consent_id_withdrawn")
    return True


def hold_story_id(turn: Turn) -> None:
    """An ID number in a story told before any report (the report is only offered): held encrypted
    in the conversation until the report starts (:func:`take_story_id`), never used before the
    customer agrees."""
    number = _valid_id(turn)
    if number:
        turn.keep_note_secret(ID_HELD, number)


def take_story_id(turn: Turn, frame: FlowFrame) -> None:
    """The number held by :func:`hold_story_id`, moved into the report as one sent before the consent."""
    held = turn.note_secret(ID_HELD) if ID_HELD in turn.state.secret else None
    turn.state.secret.pop(ID_HELD, None)
    if held and ID_HELD not in frame.secret:
        turn.keep_secret(frame, ID_HELD, held)


def use_held_id(turn: Turn, frame: FlowFrame) -> str | None:
    """Once the customer agreed: the ID number they sent before (and forget that it was held)."""
    held = turn.secret(frame, ID_HELD) if ID_HELD in frame.secret else None
    frame.secret.pop(ID_HELD, None)
    return held


def drop_held_id(frame: FlowFrame) -> None:
    """The customer refused: the number they sent before is not kept."""
    frame.secret.pop(ID_HELD, None)
    frame.data[REFUSED_NOW] = True


def change_of_mind(turn: Turn, frame: FlowFrame) -> bool:
    """After a no, the ID number sent after all (its purpose was said), or "好吧 可以" right after the
    no: a yes now, recorded. True when the report may use the number from now on."""
    just = frame.data.pop(REFUSED_NOW, False)
    if not frame.data.get("no_id") or frame.data.get("consent_id"):
        return False
    if not by_sending(turn):
        if not (just and turn.cue("agree_words") and not turn.cue("refuse_words") and not turn.asks
                and len(turn.norm) <= 8):
            return False
        record(turn, "id_number")
        turn.say("consent_early_ok", text=text_of("id_number"))
    frame.data.pop("no_id", None)
    frame.data["consent_id"] = True
    return True


def ask_holding(turn: Turn, frame: FlowFrame, category: str) -> None:
    """Ask for the consent, saying first that a number already sent waits for it."""
    if ID_HELD in frame.secret:
        turn.say("cr_id_held")
    ask(turn, frame, category)


def refuse_in_passing(turn: Turn) -> None:
    """"不同意，我要跟真人讲" at the consent question: the no is recorded too (D-04)."""
    frame = turn.state.frame
    if frame is not None and (frame.step or "").startswith("consent_") and turn.cue("refuse_words"):
        refuse(turn, (frame.step or "")[len("consent_"):])
