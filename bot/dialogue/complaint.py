"""Complaint: what happened and a callback number; then the number and the 24-hour / 15-working-day
limits at once. What the customer adds afterwards (names, times, a case number) is recorded with it.

A complaint told in one message (a rude visit, money late, a broken promise, with the phone number)
is filed in that turn: nothing already said is asked again. An angry complaint is filed first, then
a person is asked for.
"""

from __future__ import annotations

import re

from backend.complaints.service import add_complaint_details, file_complaint
from backend.errors import ServiceError
from backend.security.masking import mask_phone, scrub_text
from bot.dialogue import contact, faq, fields, handoff
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame

_CONTENT_MAX = 1000
_RE_CASE_LIKE = re.compile(r"[Ll][Pp]\s*\d{6,}")  # a case number as the customer has it


class ComplaintFlow(Flow):
    """Takes a complaint and files it."""

    name = "complaint"

    def start(self, turn: Turn, frame: FlowFrame) -> None:
        turn.state.complaints += 1
        if turn.cue("pay_first_words"):
            turn.say("cc_no_fees")  # 要先转两百元手续费: do not pay, first of all
            frame.data["fees_told"] = True
        elif _says_what(turn):
            turn.say("cc_sorry")
        if turn.asks and turn.cue("hours_words"):
            contact.hours(turn)  # …我要投诉。还有，办事处几点关门: the hours too
        if turn.asks and turn.cue("complaint_how_words"):
            faq.answer_topic(turn, "complaint_process", follow_up=False)  # 如果要投诉 是在哪里投诉
        super().start(turn, frame)

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        if _says_what(turn):
            self._add_content(turn, frame)
        claim_no = (turn.pred.slots or {}).get("claim_no")
        if claim_no:
            frame.data["case_no"] = str(claim_no)
        phone = turn.note_secret("phone")
        if phone:
            turn.keep_secret(frame, "phone", phone)
        else:
            fields.prefill_phone(turn, frame)

    def _add_content(self, turn: Turn, frame: FlowFrame) -> None:
        text = scrub_text(turn.text[:_CONTENT_MAX], private_values=turn.private_values)
        old = str(frame.data.get("content", ""))
        frame.data["content"] = (old + "\n" + text).strip()[-_CONTENT_MAX:]
        if turn.cue("angry_words") or turn.cue("escalation_words"):  # 请负责人打给我 / 向监管局投诉
            frame.data["angry"] = True

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if "content" not in frame.data:
            frame.step = "content"
            turn.say("cc_ask_what")
        elif "phone" not in frame.secret:
            again = frame.step == "phone"
            frame.step = "phone"
            turn.say("cc_ask_phone_again" if again else "cc_ask_phone")
        else:
            self._file(turn, frame)

    def remind(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.step == "more":
            return
        self.ask(turn, frame)

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        step = frame.step
        claim_no = (turn.pred.slots or {}).get("claim_no")
        if claim_no:
            frame.data["case_no"] = str(claim_no)
        if step == "more":
            return self._more(turn, frame)
        if step == "content":
            if len(turn.norm) < 2:
                return "pass"
            self._add_content(turn, frame)
        elif step == "phone" and not claim_no and _RE_CASE_LIKE.search(turn.norm) \
                and not turn.extract.phones(turn.norm):
            self._add_content(turn, frame)  # 案件号 LP2026…: their case as they have it, for staff; no phone
        elif step == "phone":
            outcome = fields.take_phone(turn, frame)
            if outcome == "invalid":
                return outcome
            if outcome == "pass":
                if turn.cue("case_unknown_words"):
                    turn.say("cc_no_case_needed")
                elif turn.asks and turn.cue("complaint_how_words"):
                    faq.answer_topic(turn, "complaint_process", follow_up=False)  # 投诉了多久会有回复
                elif turn.asks and turn.cue("timeline_words"):
                    faq.answer_topic(turn, "claim_timeline", follow_up=False)  # 材料交了几时会审好
                elif turn.cue("boss_words"):
                    turn.say("cc_boss")
                elif turn.interrupts(frame) and not turn.cue("complaint_cue_words") \
                        and not turn.cue("already_reported_words"):  # 我是替我老伴报的: the earlier report
                    return "pass"
                self._add_content(turn, frame)
        self.ask(turn, frame)
        return "ok"

    def _more(self, turn: Turn, frame: FlowFrame) -> Outcome:
        """After filing: more details are added; a question about the limits is answered."""
        std = turn.product.service_standards
        if turn.cue("when_words") and turn.asks:
            turn.say("cc_when", ack_hours=std.complaint_ack_hours, days=std.complaint_resolution_working_days)
            return "ok"
        if _another_request(turn, frame):
            return "pass"
        if ((turn.pred.intent in ("affirm", "goodbye") and turn.confident) or turn.cue("wait_words")) \
                and len(turn.norm) <= 10:
            turn.say("cc_wait")
            self.finish(turn)
            return "ok"
        text = scrub_text(turn.text[:_CONTENT_MAX])
        phones = turn.extract.phones(turn.norm)
        new_phone = phones[-1] if phones and phones[-1] != turn.secret(frame, "phone") else None
        try:
            add_complaint_details(turn.session, cipher=turn.services.cipher,
                                  complaint_id=int(frame.data["id"]), text=text,
                                  actor=f"bot:{turn.message.channel}", now=turn.now, new_phone=new_phone)
        except ServiceError:
            return "pass"
        if new_phone:  # 唔对 尾数是八 … 1375122 4088: the number to call back, corrected
            turn.keep_secret(frame, "phone", new_phone)
            turn.say("cc_phone_changed", phone=mask_phone(new_phone))
        else:
            turn.say("cc_added")
        return "ok"

    def _category(self, turn: Turn, content: str) -> str:
        for category, words in turn.copy.table("complaint_category_words").items():
            if any(w in content for w in words):
                return str(category)
        return "other"

    def _file(self, turn: Turn, frame: FlowFrame) -> None:
        svc = turn.services
        content = str(frame.data["content"])
        angry = bool(frame.data.get("angry"))
        case_no = frame.data.get("case_no") or None
        try:
            c = file_complaint(
                turn.session, cipher=svc.cipher, catalog=svc.catalog, calendar=svc.calendar,
                category=self._category(turn, content), severity="serious" if angry else "normal",
                channel=turn.message.channel, complainant_name=None,
                contact_phone=turn.secret(frame, "phone") or "", content=content,
                actor=f"bot:{turn.message.channel}", product_id=turn.product.id,
                related_case_no=case_no, openid=turn.message.user_id,
                now=turn.now,
            )
        except ServiceError as exc:
            if exc.code == "claim_not_found":  # a number we cannot find: kept in the text instead
                frame.data["content"] = f"{content}\n案件号：{case_no}"
                frame.data["case_no"] = ""
                self._file(turn, frame)
                return
            turn.say("cr_failed", reason=exc.message + "。")
            self.finish(turn)
            return
        std = turn.product.service_standards
        turn.log_slots["complaint_no"] = c.complaint_no
        turn.say("cc_done", number=c.complaint_no, ack_hours=std.complaint_ack_hours,
                 days=std.complaint_resolution_working_days)
        told = content + str(turn.state.notes.get("description") or "")  # with the story told before
        if any(w in told for w in turn.copy.table("extract").get("fee_words") or ()) \
                and not frame.data.get("fees_told"):
            turn.say("cc_no_fees")  # 要先转两百元手续费: we never ask for money; do not pay
        frame.step = "more"
        frame.data["id"] = c.id
        if angry:
            handoff.hand_off(turn, "angry", quiet=True)
            turn.say("cc_person")


def _says_what(turn: Turn) -> bool:
    """True when the message tells what is wrong (not just "我要投诉")."""
    only = turn.cue("complaint_only_words") and len(turn.norm) <= 8
    return turn.message.kind in ("text", "voice") and len(turn.norm) >= 6 and not only


def _another_request(turn: Turn, frame: FlowFrame) -> bool:
    """After filing, what is a new request rather than more about the complaint: a visit, a person, a
    question, or a new report or progress enquiry asked in so many words."""
    if not turn.interrupts(frame) or turn.cue("complaint_cue_words"):
        return False
    intent = turn.pred.intent
    if intent == "info_update":
        return turn.cue("update_words") and not turn.cue("no_change_words")
    if intent in ("home_visit", "human_agent", "policy_lookup"):
        return True
    if intent == "claim_report":
        return turn.cue("report_request_words") and not turn.cue("reported_words")
    if intent == "claim_progress":
        return turn.asks and not turn.cue("when_words")
    return turn.asks
