"""The claim report's answers, step by step: each answer is checked for what it should be.

A name must look like a name, a hospital like a place of care; a phone, an ID number or a date
found in another answer goes to its own field (the conversation's notes already took it) and the
pending question is asked again kindly. At the confirmation "不对" asks which item (numbered), and a
correction in words (不对，医院是…) changes that item at once.
"""

from __future__ import annotations

import re

from bot.dialogue import (
    amounts,
    fields,
    fixes,
    grievance,
    lunar_answer,
    name_parts,
    oneshots,
    side_questions,
    who,
)
from bot.dialogue.base import Outcome
from bot.dialogue.claim_id import ClaimIdAnswers
from bot.dialogue.context import Turn
from bot.dialogue.parsing import claim_type_from_text
from bot.dialogue.state import FlowFrame

# which item a numbered fix answer (or a word in a correction) clears
FIX_ORDER = ("name", "id_number", "claim_type", "date", "hospital", "phone", "relation")
_BEFORE_CONSENT = ("relation", "accident", "name", "date", "claim_type", "hospital", "phone", "accident_late")
_RE_YES_FIRST = re.compile(r"(?:对|是|系|没错)(?:的|啊|呀|啦)?[,，。 ]")  # 对的，赔几多: yes, then a question
_VALUE_KEYS = {"name", "phone", "hospital", "date", "relation", "relation_told", "accident", "id_number"}


def _add_story(frame: FlowFrame, text: str) -> None:
    """More of what happened, kept with the report's description (its last 600 characters)."""
    old = str(frame.data.get("description", ""))
    frame.data["description"] = (old + " " + text).strip()[-600:]


class ClaimAnswers(ClaimIdAnswers):
    """Answer handlers of :class:`~bot.dialogue.claim_report.ClaimReportFlow`."""

    def fill(self, turn: Turn, frame: FlowFrame) -> None:  # pragma: no cover - defined by the flow
        raise NotImplementedError

    def _create(self, turn: Turn, frame: FlowFrame) -> None:  # pragma: no cover - defined by the flow
        raise NotImplementedError

    def _death_words(self, turn: Turn, frame: FlowFrame) -> None:  # pragma: no cover
        raise NotImplementedError

    def _death_reported_before(self, turn: Turn, frame: FlowFrame) -> bool:  # pragma: no cover
        raise NotImplementedError

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        step = frame.step or ""
        was_death = frame.data.get("claim_type")
        self._take_id(turn, frame, at_step=step == "id_number")
        self.fill(turn, frame)
        flow = self
        kind = frame.data.get("claim_type")
        died_now = kind in ("accidental_death", "transport_death") and was_death != kind
        if died_now and not frame.data.get("condoled"):
            self._death_words(turn, frame)
            flow.ask(turn, frame)
            return "ok"
        if self._death_reported_before(turn, frame):
            return "ok"
        if step not in ("name", "confirm", "fix") and fixes.take_respelled_name(turn, frame):
            flow.ask(turn, frame)  # 王 三横一竖个王 王雪梅: the name meant, kept
            return "ok"
        grieved = grievance.noted(turn, frame)  # 打恁电话都无人听: kept, filed with the claim
        handler = getattr(self, f"_answer_{step.replace('-', '_')}", None)
        early = self._consent_before_asked(turn, frame) if step in _BEFORE_CONSENT else None
        outcome: Outcome = early or (handler(turn, frame) if handler is not None else "pass")
        if grieved:  # the apology said; no "记下了" after it
            outcome = "ok" if outcome in ("pass", "invalid") else outcome
            noted = turn.copy.t("noted")
            turn.replies[:] = [r for r in turn.replies if r != noted]
        elif outcome == "pass" and (turn.asks or turn.cue("guess_words") or "stay_list" in turn.noted) \
                and amounts.answer(turn):
            outcome = "ok"  # 一百日就是三千吧: the sum, with its limits, then the question again
        elif outcome == "pass" and self._told_something(turn, frame):
            turn.say("noted")
            outcome = "ok"
        elif outcome == "pass" and self._more_story(turn, frame):
            outcome = "ok"
        if outcome == "ok" and turn.state.frame is frame:
            side_questions.answer(turn)  # 伊叫陈炳坤，住院一日几多钱: the fact kept, the question answered
        if outcome == "ok" and turn.state.frame is frame and not turn.log_slots.pop("asked", False):
            flow.ask(turn, frame)
        return outcome

    @staticmethod
    def _more_story(turn: Turn, frame: FlowFrame) -> bool:
        """A remark that tells more of what happened (狗是无主的): kept with the description."""
        if turn.asks or turn.interrupts(frame) or len(turn.norm) < 6 or turn.pred.intent in (
                "affirm", "deny", "goodbye", "greeting", "cancel", "human_agent"):
            return False
        if turn.cue("dispute_words") or turn.cue("unclear_words") or turn.cue("wait_words"):
            return False
        _add_story(frame, turn.norm[:200])
        turn.say("noted")
        return True

    @staticmethod
    def _told_something(turn: Turn, frame: FlowFrame) -> bool:
        """True when the message gave values for other questions (taken already)."""
        return bool(turn.noted & _VALUE_KEYS) or bool(turn.log_slots.get("id_taken"))

    # ------------------------------------------------------------------ simple steps
    def _answer_relation(self, turn: Turn, frame: FlowFrame) -> Outcome:
        return who.answer(turn, frame, told=self._told_something(turn, frame))

    def _answer_name(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if "name" in frame.secret:
            return "ok"
        name = name_parts.complete(turn, frame) or turn.extract.name(turn.plain, whole=True)
        if name is not None:
            turn.keep_secret(frame, "name", name)
            turn.keep_note_secret("name", name)
            turn.log_slots["insured_name"] = name
            if turn.extract.self_first(turn.plain):  # 系阮自己 翁丽华: the writer was hurt
                frame.data["relation"] = "self"
            return "ok"
        if turn.asks and turn.cue("materials_words"):  # 要报案的话要准备什么: the papers, then the name
            oneshots.claim_materials(turn)
            return "ok"
        # 好 继续报 / 怎么申请理赔 / 之前无报过: this is it
        if turn.cue("report_request_words") or turn.cue("not_reported_words"):
            turn.say("cr_this_is_it" if turn.asks else "cr_going_on")
            return "ok"
        if surname := name_parts.hold_surname(turn, frame):
            turn.say("cr_name_given", surname=surname)  # 我妈叫郑: 郑什么
            return "ok"
        who = turn.cue("not_kin_words") or bool((turn.pred.slots or {}).get("relation"))  # 唔是亲戚，厝边
        if turn.interrupts(frame) or turn.asks or (
                not who and (self._told_something(turn, frame) or len(turn.norm) > 6)):
            return "pass"
        # 脚痛 / 厝里 / 农历个: more of what happened, not a name; 唔是亲戚，厝边: who, told again
        if who or any(turn.cue(k) for k in ("story_bit_words", "injury_words", "lunar_words")):
            _add_story(frame, turn.norm)
            turn.say("noted")
            return "ok"
        turn.say("cr_bad_name_self" if frame.data.get("relation") == "self" else "cr_bad_name")
        return "invalid"

    def _answer_claim_type(self, turn: Turn, frame: FlowFrame) -> Outcome:
        kinds = turn.copy.table("claim_type_choices")
        n = turn.digit(len(kinds))
        kind = kinds[n - 1] if n is not None else claim_type_from_text(turn, turn.norm)
        # 无去医院 自己擦药油: no stay, maybe no hospital
        no_care = kind is None and turn.cue("no_stay_words")
        if kind is None and not turn.cue("outpatient_words") and not no_care:
            frame.data["type_skips"] = skips = int(frame.data.get("type_skips", 0)) + 1
            if skips < 2:
                return "pass"
        if kind is None:  # 去打狂犬针 / asked twice in vain: a hospital report, the stay told by staff
            frame.data["claim_type"] = "hospital_allowance"
            frame.data["claim_type_set"] = True
            if turn.cue("outpatient_words") or no_care:
                frame.data["stay"] = turn.state.notes["stay"] = False
            if no_care and turn.cue("no_hospital_words") and "hospital" not in frame.data:
                frame.data["hospital"] = ""  # not asked again
            return "ok"
        if kind == "accidental_death" and turn.state.notes.get("transport"):
            kind = "transport_death"
        frame.data["claim_type"] = kind
        frame.data["claim_type_set"] = True
        if kind == "hospital_allowance":  # "1. 住院了", unless the words say 没住院
            frame.data["stay"] = turn.state.notes["stay"] = n is not None or not turn.cue("no_stay_words")
        return "ok"

    def _answer_accident(self, turn: Turn, frame: FlowFrame) -> Outcome:
        """The cause of a death: an accident goes on; a sudden collapse or an illness is not one."""
        if "accident" in frame.data:
            return "ok"
        if turn.cue("illness_words") or "sudden_death" in (turn.state.notes.get("exclusions") or []):
            known = set(turn.state.notes.get("exclusions") or [])
            turn.state.notes["exclusions"] = sorted(known | {"sudden_death"})
            turn.say("excl_sudden_death")
            turn.state.choice = {"kind": "intent", "options": ["claim_report_anyway", "human_agent"]}
            turn.ask_choice("after_exclusion", [turn.copy.t("report_anyway"), turn.copy.t("ask_person")])
            turn.state.suspended = None
            self.finish(turn)
            return "ok"
        if turn.noted & {"name", "phone", "relation"} and not (turn.pred.slots or {}).get("accident_type"):
            return "ok"  # 伊叫郑德明: the answer to another question, kept; the cause is asked at the end
        if len(turn.norm) >= 4 and not turn.asks:
            frame.data["accident"] = "other"
            return "ok"
        return "pass"

    def _answer_accident_late(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if "accident" in frame.data:
            return "ok"
        if turn.interrupts(frame) or len(turn.norm) < 2 or turn.asks:
            return "pass"
        frame.data["accident"] = "other"
        frame.data["description"] = (str(frame.data.get("description", "")) + " " + turn.norm[:200]).strip()
        return "ok"

    def _answer_date(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if "date" in frame.data:
            return "ok"
        if self._told_something(turn, frame) or turn.extract.phones(turn.norm):  # a phone or an ID
            return "pass"  # here: kept as what it is (the same phone twice is no bad date)
        iso = (turn.pred.slots or {}).get("date")
        if iso or any(ch.isdigit() for ch in turn.norm):
            turn.say("cr_bad_date")
            return "invalid"
        return "pass"

    def _answer_lunar(self, turn: Turn, frame: FlowFrame) -> Outcome:
        return lunar_answer.answer(turn, frame)

    def _answer_hospital(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if "hospital" in frame.data:
            return "ok"
        if turn.is_none_answer():
            frame.data["hospital"] = ""
            return "ok"
        plain = turn.plain.strip()
        if turn.extract.names_care_place(plain) and not turn.asks:
            frame.data["hospital"] = plain[:100]
            return "ok"
        if turn.cue("told_before_words"):  # 医院头先讲过了: it was not, and is not a hospital
            turn.say("cr_not_told")
            return "invalid"
        if self._told_something(turn, frame) or turn.interrupts(frame) or turn.asks:
            return "pass"
        turn.say("cr_bad_hospital")
        return "invalid"

    def _answer_phone(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if "phone" in frame.secret:
            return "ok"
        if self._told_something(turn, frame):  # an ID number or a date here: kept as what it is
            return "pass"
        if sum(ch.isdigit() for ch in turn.norm) >= 5:
            turn.say("cr_foreign_phone" if fields.foreign_phone(turn) else "cr_bad_phone")
            return "invalid"
        return "pass"

    # ------------------------------------------------------------------ confirmation
    def _answer_confirm(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if turn.noted & _VALUE_KEYS or turn.log_slots.get("id_taken"):
            return "ok"  # a correction in words: the item changed; confirm again
        n = turn.digit(2)
        plain_yes = (turn.cue("yes_words") and len(turn.norm) <= 12) or (  # 打电话最好晚上: no yes
            turn.confident and turn.pred.intent in ("affirm", "goodbye"))
        yes = n == 1 or (n is None and not turn.cue("wrong_words") and (
            bool(_RE_YES_FIRST.match(turn.norm)) or (not turn.asks and plain_yes)))
        denies = turn.confident and turn.pred.intent == "deny"
        no = n == 2 or (n is None and (turn.cue("wrong_words") or denies))
        if yes:
            self._create(turn, frame)
            return "ok"
        if no:
            return self._fix_by_words(turn, frame) or self._to_fix(frame)
        return "pass"

    @staticmethod
    def _to_fix(frame: FlowFrame) -> Outcome:
        frame.step = "fix"
        return "ok"

    def _fix_by_words(self, turn: Turn, frame: FlowFrame) -> Outcome | None:
        """"电话不对" names the item: it is cleared and asked again, unless the message says the new
        value (尾数是4516, 唔是秀，是素)."""
        for field, words in turn.copy.table("fix_words").items():
            if any(w in turn.norm for w in words):
                value = fixes.new_value(turn, frame, str(field))
                if value:
                    turn.keep_secret(frame, str(field), value)
                    turn.keep_note_secret(str(field), value)
                    frame.step = None
                    return "ok"
                fixes.clear(turn, frame, str(field))
                frame.step = None
                return "ok"
        return None

    def _answer_fix(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if turn.noted & _VALUE_KEYS or turn.log_slots.get("id_taken"):
            frame.step = None
            return "ok"
        n = turn.digit(len(FIX_ORDER))
        if n is None and turn.cue("all_right_words") and not turn.asks:
            frame.step = None  # 其他都对: nothing to change after all, the confirmation again
            return "ok"
        if n is None:
            return self._fix_by_words(turn, frame) or "pass"
        fixes.clear(turn, frame, FIX_ORDER[n - 1])
        frame.step = None
        return "ok"

    # ------------------------------------------------------------------ other kinds of message
    def on_location(self, turn: Turn, frame: FlowFrame) -> bool:
        if turn.message.location is None:
            return False
        lat, lon, label = turn.message.location
        frame.data["place"] = (label or f"{lat:.5f},{lon:.5f}")[:100]
        turn.say("noted")
        self.remind(turn, frame)
        return True

    def on_image(self, turn: Turn, frame: FlowFrame) -> bool:
        if turn.message.media_id:
            turn.state.pending_media.append({"media_id": turn.message.media_id})
        turn.say("cr_images_later")
        self.remind(turn, frame)
        return True
