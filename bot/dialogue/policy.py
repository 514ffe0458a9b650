"""Policy lookup: after the consent (D-04), ID number and name are checked against the roster before
anything is shown. A lookup that finds nothing says who is covered (every resident of the district aged
60+ with household registration, automatically) and what to try next. The identity steps here are
shared with the info update (``info_update.py``).
"""

from __future__ import annotations

from backend.roster.service import verify_identity
from bot.dialogue import consent
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame


def _take_id(turn: Turn, frame: FlowFrame) -> bool:
    """The ID number of this message, or the one given for an enquiry earlier in this conversation
    (a lookup that found nothing, then "我换了新号码…": not asked twice)."""
    if not frame.data.get("consent"):
        return False
    slot = (turn.pred.slots or {}).get("id_number")
    if slot:
        turn.keep_secret(frame, "id_number", str(slot))
        turn.keep_note_secret("id_number", str(slot))
        return True
    earlier = turn.note_secret("id_number")
    if earlier and "id_number" not in frame.secret:
        turn.keep_secret(frame, "id_number", earlier)
        return True
    return False


def prefill_identity(turn: Turn, frame: FlowFrame) -> None:
    if consent.granted(turn, "id_number") or consent.given_with_number(turn):  # 伊叫…，身份证…，同意你们查
        frame.data["consent"] = True
    else:
        consent.hold_id(turn, frame)  # an ID in the first message waits for the consent
    _take_id(turn, frame)
    name = turn.note_secret("name") or turn.extract.name(turn.plain)
    if name:
        turn.keep_secret(frame, "name", name)


def identity(turn: Turn, frame: FlowFrame) -> Outcome | None:
    """Collect consent, ID number and name; None once all are in (the caller then checks them)."""
    if frame.step == "consent_id_number":
        agreed = consent.answer(turn, "id_number")
        if agreed is None:
            held = consent.hold_id(turn, frame)  # 身份证440514…: kept for when they agree
            name = turn.extract.name(turn.plain, whole=True) or turn.extract.name(turn.plain)
            if name:
                turn.keep_secret(frame, "name", name)
            if not (held or name):
                return "pass"
            turn.say("noted")
            return "ok"
        if not agreed:
            consent.drop_held_id(frame)
            consent.refused(turn, "id_number")
            turn.state.frame = None
            return "ok"
        frame.data["consent"] = True
        sent = consent.use_held_id(turn, frame)
        if sent and "id_number" not in frame.secret:
            turn.keep_secret(frame, "id_number", sent)
            turn.keep_note_secret("id_number", sent)
        _take_id(turn, frame)
        name = turn.extract.name(turn.plain, whole=True) or turn.extract.name(turn.plain)
        if name and "name" not in frame.secret:  # 陈两合，440514…，可以: the name with the yes
            turn.keep_secret(frame, "name", name)
    elif frame.step == "id_number":
        if not _take_id(turn, frame):
            if sum(ch.isdigit() for ch in turn.norm) >= 6:
                turn.say("pl_bad_id")
                return "invalid"
            name = turn.extract.name(turn.plain)  # 伊叫陈惜娟 before the ID number: kept
            if name and "name" not in frame.secret:
                turn.keep_secret(frame, "name", name)
                turn.keep_note_secret("name", name)
                turn.say("noted")
                return "ok"
            return "pass"
    elif frame.step == "name":
        name = turn.extract.name(turn.plain, whole=True)
        if name is None:
            return "pass"
        turn.keep_secret(frame, "name", name)
        turn.keep_note_secret("name", name)
    else:
        return "pass"
    return None if _complete(frame) else "ok"


def _complete(frame: FlowFrame) -> bool:
    return "id_number" in frame.secret and "name" in frame.secret


def ask_identity(turn: Turn, frame: FlowFrame, id_key: str) -> bool:
    """Ask the next identity question; False when they are all answered."""
    if not frame.data.get("consent"):
        consent.ask_holding(turn, frame, "id_number")
    elif "id_number" not in frame.secret:
        frame.step = "id_number"
        turn.say(id_key)
    elif "name" not in frame.secret:
        frame.step = "name"
        turn.say("pl_ask_name")
    else:
        return False
    return True


def matches(turn: Turn, frame: FlowFrame) -> tuple[bool, str]:
    """Whether ID number and name match a roster person, and the eligibility sentence."""
    id_number = turn.secret(frame, "id_number") or ""
    name = turn.secret(frame, "name") or ""
    result = verify_identity(turn.session, cipher=turn.services.cipher, id_number=id_number, name=name,
                             on=turn.today, product=turn.product)
    if result is None:
        return False, ""
    return True, f"{result.masked_name}：{result.reason}"


class PolicyLookupFlow(Flow):
    """Is this person insured? (after ID number + name match)."""

    name = "policy_lookup"

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        if turn.state.last.pop("lookup_not_found", None):  # looking again: the ID and name are asked
            frame.data["consent"] = consent.granted(turn, "id_number")
            return
        prefill_identity(turn, frame)

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if not turn.services.lookups(turn.message.user_id, "check"):  # over the limit: nothing asked
            turn.say("cp_too_many")
            self.finish(turn)
        elif not ask_identity(turn, frame, "pl_ask_id"):
            self._lookup(turn, frame)

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        outcome = identity(turn, frame)
        if outcome is not None:
            if outcome == "ok" and turn.state.frame is frame:
                self.ask(turn, frame)
            return outcome
        self._lookup(turn, frame)
        return "ok"

    def _lookup(self, turn: Turn, frame: FlowFrame) -> None:
        """ID number + name against the roster; failed tries count with the claim-progress ones
        (M-09: neither lookup may serve to guess who is insured under which name)."""
        user = turn.message.user_id
        if not turn.services.lookups(user, "check"):
            turn.say("cp_too_many")
            self.finish(turn)
            return
        ok, sentence = matches(turn, frame)
        if ok:
            turn.say_text(sentence)
        elif not turn.services.lookups(user, "fail"):
            turn.say("cp_too_many")
        else:
            region = turn.product.region
            turn.say("pl_not_found", district=region.district, age=turn.product.eligibility.min_age)
            turn.state.last["lookup_not_found"] = True
        self.finish(turn)
