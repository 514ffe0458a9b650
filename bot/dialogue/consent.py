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
