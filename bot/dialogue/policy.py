"""Policy lookup and info update: ID number and name must match the roster before anything is shown
or requested. An info update is recorded as a request for staff; nothing is changed silently."""

from __future__ import annotations

from backend.handoff.service import request_handoff
from backend.roster.service import verify_identity
from bot.dialogue import consent
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.parsing import parse_name
from bot.dialogue.state import FlowFrame

UPDATE_FIELDS = ("phone", "bank_account", "address")


def _identity(turn: Turn, frame: FlowFrame) -> Outcome | None:
    """Collect ID number then name; None once both are in (the caller then checks them)."""
    slots = turn.pred.slots
    if frame.step == "id_number":
        if slots.get("id_number"):
            turn.keep_secret(frame, "id_number", str(slots["id_number"]))
            return "ok"
        if sum(ch.isdigit() for ch in turn.text) >= 6:
            turn.say("pl_not_found")
            turn.state.frame = None
            return "ok"
        return "pass"
    if frame.step == "name":
        name = parse_name(turn.text)
        if name is None:
            if turn.interrupts(frame):
                return "pass"
            turn.say("pl_not_found")
            turn.state.frame = None
            return "ok"
        turn.keep_secret(frame, "name", name)
        return None
    return "pass"


def _matches(turn: Turn, frame: FlowFrame) -> tuple[bool, str]:
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
        if turn.pred.slots.get("id_number"):
            turn.keep_secret(frame, "id_number", str(turn.pred.slots["id_number"]))

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if "id_number" not in frame.secret:
            frame.step = "id_number"
            turn.say("pl_ask_id")
        else:
            frame.step = "name"
            turn.say("pl_ask_name")

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        outcome = _identity(turn, frame)
        if outcome is not None:
            if outcome == "ok" and turn.state.frame is frame:
                self.ask(turn, frame)
            return outcome
        ok, sentence = _matches(turn, frame)
        if ok:
            turn.say_text(sentence)
        else:
            turn.say("pl_not_found")
        self.finish(turn)
        return "ok"


class InfoUpdateFlow(Flow):
    """A request to change phone, bank account or address, for staff to check and apply."""

    name = "info_update"

    prefill = PolicyLookupFlow.prefill

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if "id_number" not in frame.secret:
            frame.step = "id_number"
            turn.say("iu_ask_id")
        elif "name" not in frame.secret:
            frame.step = "name"
            turn.say("pl_ask_name")
        elif "field" not in frame.data:
            frame.step = "field"
            turn.say("iu_ask_what")
        elif frame.data["field"] == "bank_account" and not consent.granted(turn, "bank_account"):
            consent.ask(turn, frame, "bank_account")  # D-04: before the account number
        else:
            frame.step = "value"
            turn.say("iu_ask_value", what=turn.copy.label("iu_what_labels", frame.data["field"]))

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if frame.step in ("id_number", "name"):
            outcome = _identity(turn, frame)
            if outcome is None:
                ok, _ = _matches(turn, frame)
                if not ok:
                    turn.say("pl_not_found")
                    self.finish(turn)
                    return "ok"
                outcome = "ok"
            if outcome == "ok" and turn.state.frame is frame:
                self.ask(turn, frame)
            return outcome
        if frame.step == "field":
            n = turn.digit(len(UPDATE_FIELDS))
            if n is None:
                return "pass"
            frame.data["field"] = UPDATE_FIELDS[n - 1]
            self.ask(turn, frame)
            return "ok"
        if frame.step == "consent_bank_account":
            agreed = consent.answer(turn, "bank_account")
            if agreed is None:
                return "pass"
            if agreed:
                self.ask(turn, frame)
            else:
                consent.refused(turn, "bank_account")
                self.finish(turn)
            return "ok"
        if frame.step == "value":
            return self._value(turn, frame)
        return "pass"

    def _value(self, turn: Turn, frame: FlowFrame) -> Outcome:
        field = str(frame.data["field"])
        digits = "".join(ch for ch in turn.text if ch.isdigit())
        if field == "phone":
            value = str(turn.pred.slots.get("phone") or "")
            if not value:
                if digits:
                    turn.say("iu_bad_phone")
                    return "invalid"
                return "pass"
        elif field == "bank_account":
            if not 12 <= len(digits) <= 19:
                if digits:
                    turn.say("iu_bad_bank")
                    return "invalid"
                return "pass"
            value = digits
        else:
            if turn.interrupts(frame) or len(turn.text) < 3:
                return "pass"
            value = turn.text[:300]
        turn.private_values.append(value)
        row = request_handoff(
            turn.session, channel=turn.message.channel, user_id=turn.message.user_id,
            reason="info_update", flow=self.name, summary=f"修改{turn.copy.label('iu_what_labels', field)}",
            cipher=turn.services.cipher, now=turn.now,
            payload={"field": field, "value": value, "id_number": turn.secret(frame, "id_number") or "",
                     "name": turn.secret(frame, "name") or ""},
        )
        turn.say("iu_done", number=row.id)
        self.finish(turn)
        return "ok"
