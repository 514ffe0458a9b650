"""The claim report's ID number and its consent (D-04): an ID number given before the consent is held,
encrypted, until the customer agrees, never asked again, and dropped on a refusal; a mistyped number is
explained; "同意" or "做乜要身份证" said before the question is recorded or answered at once."""

from __future__ import annotations

from backend.roster.idcard import InvalidIdNumber, validate_id_number
from bot.dialogue import consent
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame


class ClaimIdAnswers(Flow):
    """The ID number steps of :class:`~bot.dialogue.claim_report.ClaimReportFlow`."""

    # ------------------------------------------------------------------ ID number
    def _take_id(self, turn: Turn, frame: FlowFrame, *, at_step: bool) -> None:
        """An ID number after the consent (a wrong one explained); one given before it is held, encrypted,
        until the customer agrees, never asked again, dropped on a refusal (``consent.hold_id``)."""
        raw = str((turn.pred.slots or {}).get("id_number") or "") or turn.extract.id_like(turn.norm)
        if not raw:
            return
        if not frame.data.get("consent_id"):
            if consent.hold_id(turn, frame):
                turn.log_slots["id_taken"] = True
            return
        try:
            info = validate_id_number(raw, today=turn.today)
        except InvalidIdNumber as exc:
            frame.secret.pop("id_number", None)
            frame.data["id_error"] = exc.message
            return
        turn.keep_secret(frame, "id_number", info.number)
        frame.data.pop("id_error", None)
        frame.data.pop("no_id", None)
        turn.log_slots["id_taken"] = True

    def _answer_id_number(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if "id_number" in frame.secret:
            return "ok"
        error = frame.data.pop("id_error", None)
        if error:
            turn.say("cr_bad_id", reason=error + "。")
            return "invalid"
        if turn.cue("no_id_words") or (turn.confident and turn.pred.intent == "deny"):
            frame.data["no_id"] = True
            turn.say("cr_no_id")
            return "ok"
        if turn.extract.phones(turn.norm) and not turn.extract.id_like(turn.norm):
            turn.say("cr_phone_not_id")  # a phone number where the ID was asked: kept as the phone
            return "ok"
        if sum(ch.isdigit() for ch in turn.norm) >= 6:
            turn.say("cr_bad_id", reason="身份证号应为18位。")
            return "invalid"
        return "pass"

    # ------------------------------------------------------------------ consent
    def _answer_consent_id_number(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if turn.cue("consent_why_words") and not turn.cue("refuse_words"):
            turn.say("consent_why")
            turn.log_slots["asked"] = True  # the explanation ends with the question itself
            return "ok"
        if turn.cue("no_id_words") and not turn.cue("refuse_words"):
            frame.data["no_id"] = True
            turn.say("cr_no_id")
            return "ok"
        agreed = consent.answer(turn, "id_number")
        if agreed is None and consent.by_sending(turn):
            agreed = True
        if agreed is None:
            return "pass"
        if agreed:
            frame.data["consent_id"] = True
            self.use_held_id(turn, frame)
            self._take_id(turn, frame, at_step=True)
            if frame.data.get("id_error"):  # a mistyped number: why, and the ID question
                frame.step = "id_number"
                self._answer_id_number(turn, frame)
        else:
            consent.drop_held_id(frame)
            frame.data["no_id"] = True
            turn.say("cr_no_id")
        return "ok"

    def _consent_before_asked(self, turn: Turn, frame: FlowFrame) -> Outcome | None:
        """"同意" / "我唔同意 我只要报案" / "做乜要身份证" said about the ID before its question (or
        after a first no): recorded and explained at once, and the report goes on; None for any
        other message."""
        if consent.change_of_mind(turn, frame):  # 好吧 可以 / the number sent after a no
            self.use_held_id(turn, frame)
            self._take_id(turn, frame, at_step=False)
            return "ok"
        if frame.data.get("consent_id"):
            return "ok" if consent.after_yes(turn, frame) else None  # 不同意 / 我也同意 after the yes
        agreed = consent.agrees(turn, frame)
        if not (turn.cue("consent_topic_words") or agreed):
            return None
        refuses = turn.cue("refuse_words")
        if agreed:
            consent.record(turn, "id_number")
            frame.data["consent_id"] = True
            frame.data.pop("no_id", None)
            self.use_held_id(turn, frame)
            turn.say("consent_early_ok", text=consent.text_of("id_number"))  # what the yes was given to
            return "ok"
        if refuses:
            consent.refuse(turn, "id_number")
            consent.drop_held_id(frame)
            frame.data["no_id"] = True
            turn.say("consent_why_early" if turn.asks or turn.cue("consent_why_words") else "cr_no_id")
            return "ok"
        if turn.cue("consent_why_words"):
            turn.say("consent_why_early")
            return "ok"
        return None

    @staticmethod
    def use_held_id(turn: Turn, frame: FlowFrame) -> None:
        """Once the customer agreed: the ID number they gave before becomes the report's."""
        held = consent.use_held_id(turn, frame)
        if held and "id_number" not in frame.secret:
            turn.keep_secret(frame, "id_number", held)
