"""Complaint: what happened, which case (if any), name and phone; then the number and time limits."""

from __future__ import annotations

from backend.complaints.service import file_complaint
from backend.errors import ServiceError
from backend.security.masking import scrub_text
from bot.dialogue import fields, handoff
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame


class ComplaintFlow(Flow):
    """Takes a complaint and files it."""

    name = "complaint"

    def start(self, turn: Turn, frame: FlowFrame) -> None:
        turn.state.complaints += 1  # a second complaint in a conversation goes to a person
        super().start(turn, frame)

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        text = turn.text
        # A message that already says what is wrong (not just "我要投诉") is the complaint itself.
        if len(text) >= 8 and turn.message.kind in ("text", "voice"):
            self._keep_content(turn, frame)
        claim_no = turn.pred.slots.get("claim_no")
        if claim_no:
            frame.data["case_no"] = str(claim_no)
        fields.prefill_phone(turn, frame)

    def _keep_content(self, turn: Turn, frame: FlowFrame) -> None:
        frame.data["content"] = scrub_text(turn.text[:1000])
        if turn.copy.contains_any("angry_words", turn.text):
            frame.data["angry"] = True

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if "content" not in frame.data:
            frame.step = "content"
            turn.say("cc_ask_what")
        elif "case_no" not in frame.data:
            frame.step = "case_no"
            turn.say("cc_ask_case")
        elif "name" not in frame.secret:
            frame.step = "name"
            turn.say("cc_ask_name")
        elif "phone" not in frame.secret:
            frame.step = "phone"
            turn.say("cc_ask_phone")
        else:
            self._file(turn, frame)

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        step = frame.step
        outcome: Outcome = "pass"
        if step == "content":
            if len(turn.text) >= 2:
                self._keep_content(turn, frame)
                outcome = "ok"
        elif step == "case_no":
            claim_no = turn.pred.slots.get("claim_no")
            if claim_no:
                frame.data["case_no"] = str(claim_no)
                outcome = "ok"
            elif turn.is_none_answer():
                frame.data["case_no"] = ""
                outcome = "ok"
            elif any(ch.isdigit() for ch in turn.text):
                turn.say("mt_case_not_found")
                outcome = "invalid"
        elif step == "name":
            outcome = fields.take_name(turn, frame)
        elif step == "phone":
            outcome = fields.take_phone(turn, frame)
        if outcome == "ok":
            self.ask(turn, frame)
        return outcome

    def _category(self, turn: Turn, content: str) -> str:
        for category, words in turn.copy.table("complaint_category_words").items():
            if any(w in content for w in words):
                return str(category)
        return "other"

    def _file(self, turn: Turn, frame: FlowFrame) -> None:
        svc = turn.services
        content = str(frame.data["content"])
        angry = bool(frame.data.get("angry"))
        try:
            c = file_complaint(
                turn.session, cipher=svc.cipher, catalog=svc.catalog, calendar=svc.calendar,
                category=self._category(turn, content), severity="serious" if angry else "normal",
                channel=turn.message.channel, complainant_name=turn.secret(frame, "name") or "",
                contact_phone=turn.secret(frame, "phone") or "", content=content,
                actor=f"bot:{turn.message.channel}", product_id=turn.product.id,
                related_case_no=frame.data.get("case_no") or None, openid=turn.message.user_id,
                now=turn.now,
            )
        except ServiceError as exc:
            if exc.code == "claim_not_found":
                frame.data.pop("case_no", None)
                turn.say("mt_case_not_found")
                self.ask(turn, frame)
                return
            turn.say("cr_failed", reason=exc.message + "。")
            self.finish(turn)
            return
        std = turn.product.service_standards
        turn.log_slots["complaint_no"] = c.complaint_no
        turn.say("cc_done", number=c.complaint_no, ack_hours=std.complaint_ack_hours,
                 days=std.complaint_resolution_working_days)
        self.finish(turn)
        if angry:
            handoff.hand_off(turn, "angry")
