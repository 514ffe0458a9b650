"""Claim progress: by case number AND the insured's ID number (scheme facts), or by ID number plus name.

A case number alone (date + sequence: guessable) shows the progress only to the WeChat user who
reported that claim (same channel and openid on the claim), or for the claim already verified in this
conversation; anyone else is asked for the insured's ID number too (``claim_for_enquiry``), after the
consent to its use (D-04). Nothing is shown before it matches: an unknown number and a mismatch get
the same neutral "没有查到", with what to try next. Failed lookups are counted per WeChat user: past the
limit (catalogue M-09) no more ID + name pairs are tried today, so the enquiry cannot be used to guess
who is insured under which name.
"""

from __future__ import annotations

from backend.claims.models import Claim
from backend.claims.service import claim_for_enquiry, find_claims_by_id_number, get_claim, insured_name_of
from backend.errors import ServiceError
from backend.notices.service import sent_notice_lines
from backend.notices.templates import load_book
from backend.roster.idcard import InvalidIdNumber, validate_id_number
from bot.dialogue import consent, faq
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.fields import id_number_answer, reported_by_this_user
from bot.dialogue.state import FlowFrame
from config.settings import get_settings

MAX_SHOWN = 3
NOTICES_SHOWN = 2  # the last notices sent about the claim, one line each


def describe(turn: Turn, claim: Claim) -> str:
    """The stage in plain words, the expected date, what is missing and the last notices sent."""
    c = turn.copy
    stage = c.table("stage_words").get(claim.state, claim.state)
    lines = [c.t("cp_result", case_no=claim.case_no, stage=stage)]
    if claim.deadline_date is not None and claim.state not in ("paid", "closed", "withdrawn", "rejected"):
        d = claim.deadline_date
        lines.append(c.t("cp_due", provisional=c.t("cp_provisional") if claim.deadline_provisional else "",
                         date=f"{d.year}年{d.month}月{d.day}日"))
    missing = [m.label for m in claim.materials if not m.received]
    if missing and claim.state in ("reported", "materials_pending"):
        lines.append(c.t("cp_missing", items="、".join(missing)))
    book = load_book(get_settings().notices.file)
    lines.extend(sent_notice_lines(turn.session, claim_id=claim.id, book=book, limit=NOTICES_SHOWN))
    return "\n".join(lines)


class ClaimProgressFlow(Flow):
    """Looks a claim up and tells where it stands."""

    name = "claim_progress"

    def start(self, turn: Turn, frame: FlowFrame) -> None:
        if turn.asks and turn.cue("timeline_words") and turn.cue("approved_words") \
                and not (turn.pred.slots or {}).get("claim_no"):
            faq.answer_topic(turn, "claim_timeline", follow_up=False)  # 审核通过了，钱几时到: the days first
        super().start(turn, frame)

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        slots = turn.pred.slots
        if slots.get("claim_no"):
            frame.data["case_no"] = str(slots["claim_no"])
        if slots.get("id_number"):
            turn.keep_secret(frame, "id_number", str(slots["id_number"]))
            turn.keep_note_secret("id_number", str(slots["id_number"]))
        elif turn.note_secret("id_number"):  # given earlier in this conversation for an enquiry
            turn.keep_secret(frame, "id_number", turn.note_secret("id_number") or "")
        name = turn.note_secret("name")
        if name:
            turn.keep_secret(frame, "name", name)
        if not slots.get("claim_no") and not slots.get("id_number") and _looks_like_number(turn):
            frame.data["bad_case"] = True  # a number we cannot read as a case number: use the ID instead
        if not frame.data.get("case_no") and "id_number" not in frame.secret and turn.state.claim:
            # the claim this customer reported, or already verified, in this conversation
            frame.data["case_no"] = str(turn.state.claim["case_no"])
            frame.data["verified"] = True

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.data.pop("bad_case", None):
            frame.data.pop("case_no", None)
            if "id_number" not in frame.secret:
                turn.say("cp_case_unknown")
                self._ask_id(turn, frame)
                return
        if frame.data.get("case_no"):
            self._by_case(turn, frame, str(frame.data["case_no"]))
        elif "id_number" not in frame.secret:
            frame.step = "key"
            turn.say("cp_ask")
        elif "name" in frame.secret:
            self._by_id(turn, turn.secret(frame, "id_number") or "", turn.secret(frame, "name") or "")
        else:
            frame.step = "name"
            turn.say("cp_ask_name")

    def remind(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.step in ("verify_id", "consent_id_number"):
            turn.say("cp_ask_id" if frame.step == "verify_id" else "cp_consent_again")
            return
        self.ask(turn, frame)

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        slots = turn.pred.slots
        if frame.step in ("key", "verify_id", "consent_id_number") and self._help(turn):
            return "ok"
        if frame.step == "key":
            if slots.get("claim_no"):
                frame.data["case_no"] = str(slots["claim_no"])
            elif slots.get("id_number"):
                turn.keep_secret(frame, "id_number", str(slots["id_number"]))
                turn.keep_note_secret("id_number", str(slots["id_number"]))
                if "name" in turn.noted:
                    turn.keep_secret(frame, "name", turn.note_secret("name") or "")
            elif turn.extract.name(turn.plain, whole=True) and not turn.asks:  # 伊叫陈淑娟: the ID next
                turn.keep_secret(frame, "name", turn.extract.name(turn.plain, whole=True) or "")
                turn.say("cp_no_case")
                return "ok"
            elif _looks_like_number(turn) and not slots.get("phone"):  # 新号码 158…: no case number
                # a number that is no case number (nor a valid ID): the ID number is the other way in
                if not turn.services.lookups(turn.message.user_id, "fail"):
                    turn.say("cp_too_many")
                    self.finish(turn)
                    return "ok"
                frame.data["bad_case"] = True
            else:
                return "pass"
            self.ask(turn, frame)
            return "ok"
        if frame.step == "consent_id_number":
            if turn.interrupts(frame) and turn.asks and not slots.get("id_number"):
                return "pass"  # 恁会来厝收吗: a visit asked for, no "会" to the consent
            agreed = consent.answer(turn, "id_number")
            if agreed is None and slots.get("id_number") and consent.by_sending(turn):
                frame.step = "verify_id"
                return self.answer(turn, frame)
            if agreed is None:
                return "pass"
            if not agreed:
                consent.refused(turn, "id_number")
                self.finish(turn)
                return "ok"
            frame.step = "verify_id"
            turn.say("cp_ask_id")
            return "ok"
        if frame.step == "verify_id" and not frame.data.get("case_no"):
            if not slots.get("id_number"):
                return "pass" if turn.interrupts(frame) or turn.asks else self._not_found(turn)
            turn.keep_secret(frame, "id_number", str(slots["id_number"]))
            turn.keep_note_secret("id_number", str(slots["id_number"]))
            name = turn.extract.name(turn.plain)
            if name and "name" not in frame.secret:  # 他叫方志明 身份证 4405…: both at once
                turn.keep_secret(frame, "name", name)
            self.ask(turn, frame)
            return "ok"
        if frame.step == "verify_id":
            if slots.get("claim_no") and str(slots["claim_no"]) != frame.data.get("case_no"):
                frame.data["case_no"] = str(slots["claim_no"])
            number = id_number_answer(turn)
            if number is None:
                return "pass" if turn.interrupts(frame) or turn.asks else self._not_found(turn)
            turn.keep_secret(frame, "id_number", number)
            self._by_case(turn, frame, str(frame.data.get("case_no", "")))
            return "ok"
        if frame.step == "name":
            name = turn.extract.name(turn.plain, whole=True)
            if name is None:
                short_ack = len(turn.norm) <= 3 or turn.cue("wait_words")
                return "pass" if turn.interrupts(frame) or turn.asks or short_ack else self._not_found(turn)
            turn.private_values.append(name)
            turn.log_slots["insured_name"] = name
            self._by_id(turn, turn.secret(frame, "id_number") or "", name)
            return "ok"
        return "pass"

    def _help(self, turn: Turn) -> bool:
        """Where to find the case number; a customer looking for it is waited for."""
        if turn.cue("case_where_words") and not (turn.pred.slots or {}).get("claim_no"):
            turn.say("cp_where", days=turn.product.service_standards.progress_notice_every_working_days)
            return True
        if turn.cue("case_lost_words"):
            turn.say("cp_no_case")
            return True
        if turn.cue("how_query_words"):
            turn.say("cp_how", days=turn.product.service_standards.progress_notice_every_working_days)
            return True
        if turn.cue("wait_words") and len(turn.norm) <= 10:
            turn.say("cp_wait")
            return True
        if turn.cue("approved_words"):  # 短信讲审核通过了: when the money comes after that, then the case
            std = turn.product.service_standards
            turn.say("cp_paid_when", threshold=std.payment_threshold_yuan,
                     below=std.payment_below_threshold_working_days,
                     above=std.payment_at_or_above_threshold_working_days)
            turn.say("cp_ask")
            return True
        return False

    def _ask_id(self, turn: Turn, frame: FlowFrame) -> None:
        """The insured's ID number, after the consent to its use (D-04)."""
        if not consent.granted(turn, "id_number"):
            consent.ask(turn, frame, "id_number")
            return
        frame.step = "verify_id"
        turn.say("cp_ask_id")

    def _not_found(self, turn: Turn) -> Outcome:
        if not turn.services.lookups(turn.message.user_id, "fail"):
            turn.say("cp_too_many")
        else:
            turn.say("cp_not_found")
            turn.state.last["progress_not_found"] = True
        turn.state.last["progress_done"] = True
        self.finish(turn)
        return "ok"

    def _blocked(self, turn: Turn) -> bool:
        """True (and said so) when this user failed too many lookups today (M-09)."""
        if turn.services.lookups(turn.message.user_id, "check"):
            return False
        turn.say("cp_too_many")
        self.finish(turn)
        return True

    def _by_case(self, turn: Turn, frame: FlowFrame, case_no: str) -> None:
        id_number = turn.secret(frame, "id_number")
        if id_number:
            if self._blocked(turn):
                return
            try:
                claim = claim_for_enquiry(turn.session, cipher=turn.services.cipher, case_no=case_no,
                                          id_number=id_number)
            except ServiceError:  # unknown number, invalid or mismatching ID: the same answer
                self._not_found(turn)
                return
            self._show(turn, [claim])
            return
        try:
            found: Claim | None = get_claim(turn.session, case_no=case_no)
        except ServiceError:
            found = None
        if found is not None and (frame.data.get("verified") or reported_by_this_user(turn, found)):
            self._show(turn, [found])
            return
        self._ask_id(turn, frame)  # asked whether or not the number exists: nothing is revealed

    def _by_id(self, turn: Turn, id_number: str, name: str) -> None:
        if self._blocked(turn):
            return
        try:
            number = validate_id_number(id_number, today=turn.today).number
            claims = find_claims_by_id_number(turn.session, cipher=turn.services.cipher, id_number=number)
        except (InvalidIdNumber, ServiceError):
            claims = []
        matching = [c for c in claims if insured_name_of(c, cipher=turn.services.cipher) == name]
        if not matching:
            self._not_found(turn)
            return
        self._show(turn, matching[:MAX_SHOWN])

    def _show(self, turn: Turn, claims: list[Claim]) -> None:
        turn.say_text("\n\n".join(describe(turn, c) for c in claims))
        turn.state.last["progress_done"] = True
        turn.log_slots["case_no"] = claims[0].case_no
        if len(claims) == 1:
            c = claims[0]
            turn.state.claim = {"id": c.id, "case_no": c.case_no, "claim_type": c.claim_type}
        self.finish(turn)


def _looks_like_number(turn: Turn) -> bool:
    """A number that may be a mistyped case number: six digits or more, not counting a phone number."""
    text = turn.norm
    for phone in turn.extract.phones(text):
        text = text.replace(phone, "")
    return sum(ch.isdigit() for ch in text) >= 6
