"""Claim report (报案): who, name, ID (after consent), what, when, hospital, phone; confirm; create.

Everything the customer already said in the conversation (``bot/dialogue/memory.py``) is taken, in
any order, and never asked again; each answer is checked for what it should be (``claim_answers``).
A death is met with condolences, the benefit the family is owed, and no hospital question; a customer
who will not or cannot give the ID number still gets the report taken (the ID comes later, with the
materials). Private values stay encrypted in the state. The claim's idempotency key comes from the
conversation, so a repeated "yes" (or a redelivered message) cannot create a second claim.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from backend.claims.service import report_claim
from backend.errors import Forbidden, ServiceError
from backend.roster.service import eligibility
from backend.security.masking import mask_id_number, mask_name, mask_phone
from bot.dialogue import amounts, consent, grievance, handoff, info_update, materials, memory, side_questions
from bot.dialogue.claim_answers import ClaimAnswers
from bot.dialogue.context import Turn
from bot.dialogue.extract import cn_date
from bot.dialogue.parsing import claim_type_from_text
from bot.dialogue.state import FlowFrame

STEPS = ("relation", "accident", "name", "consent_id", "id_number", "date", "claim_type", "hospital", "phone")
SECRET_STEPS = ("name", "id_number", "phone")
DEATH_TYPES = ("accidental_death", "transport_death")


def idempotency_key(turn: Turn, frame: FlowFrame) -> str:
    """One key per report conversation (channel, user, flow instance)."""
    raw = f"{turn.message.channel}\x00{turn.message.user_id}\x00{frame.conv_id}"
    return "dlg-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


class ClaimReportFlow(ClaimAnswers):
    """Collects a claim report and creates the claim."""

    name = "claim_report"

    # ------------------------------------------------------------------ start
    def start(self, turn: Turn, frame: FlowFrame) -> None:
        self.prefill(turn, frame)
        if not frame.data.get("quiet_start"):
            exclusions = [k for k in turn.state.notes.get("exclusions") or [] if k != "sudden_death"]
            if frame.data.get("claim_type") in DEATH_TYPES:
                self._death_words(turn, frame)
                if self._death_reported_before(turn, frame):  # 弟弟已经帮他报案了: no second report
                    return
            elif exclusions and turn.state.last.get("exclusion_said") != exclusions[0]:
                turn.say(f"excl_{exclusions[0]}")
                turn.state.last["exclusion_said"] = exclusions[0]
            elif turn.asks or "stay_list" in turn.noted or turn.fact("disability_grade"):
                # 3月也住过一次院 30天: the two stays summed; 评九级: its sum; 住院一日几多钱: the rule
                amounts.answer(turn) or side_questions.answer(turn)
            if self._missing(frame) != "accident":  # a death told without its cause: the cause first
                turn.say("cr_start")
        frame.data.pop("quiet_start", None)
        self.ask(turn, frame)

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        if consent.granted(turn, "id_number"):  # agreed before (D-04): not asked again
            frame.data["consent_id"] = True
        elif consent.given_with_number(turn):  # 身份证440514…，阮同意恁用: the number and the yes together
            frame.data["consent_id"] = True
            turn.say("consent_early_ok", text=consent.text_of("id_number"))
        consent.take_story_id(turn, frame)  # an ID in a story told before the report was offered
        self._take_id(turn, frame, at_step=False)  # an ID in the first message: held until consent
        if frame.data.get("consent_id"):
            self.use_held_id(turn, frame)
        self.fill(turn, frame)

    def _death_reported_before(self, turn: Turn, frame: FlowFrame) -> bool:
        """伊十月底跋倒，已经报过案了 after a death: no second report; staff add the death to the case
        told before, and the documents a death needs are said now."""
        notes = turn.state.notes
        told = notes.get("reported_before") or notes.get("case_ref")  # 报过案 LP…, then 伊昨晚过身了
        new_accident = (turn.pred.slots or {}).get("accident_type")
        before = turn.cue("already_reported_words") or (told and not new_accident)
        if frame.data.get("claim_type") not in DEATH_TYPES or not before:
            return False
        turn.say("cr_death_reported")
        materials.answer_question(turn, kind=str(frame.data["claim_type"]))
        self.finish(turn)
        info_update.death_since(turn)  # a request for staff: the death added to the claim told before
        handoff.hand_off(turn, "asked")  # and a person, at such a time
        return True

    def _death_words(self, turn: Turn, frame: FlowFrame) -> None:
        """Condolences, then the benefit owed (or the exclusion that may apply), once."""
        if frame.data.get("condoled"):
            return
        frame.data["condoled"] = True
        said = turn.state.last.get("amount") or {}
        if turn.state.last.get("condoled") and said.get("kind") in ("transport", "death"):
            return  # sorrow and the sum said just before (with the offer of a report): not twice in a row
        if not turn.state.last.get("condoled"):
            turn.say("condolence")
        exclusions = turn.state.notes.get("exclusions") or []
        if "sudden_death" in exclusions:
            turn.say("excl_sudden_death")
            return
        if turn.cue("accident_question_words"):  # 死亡证明写肺部感染，算不算意外: review decides
            turn.say("death_review", days=turn.product.accident.consequence_window_days,
                     amount=turn.product.benefits.accidental_death.amount_yuan)
            turn.state.last["death_review"] = True
            return
        transport = turn.state.notes.get("transport")
        if not (transport and amounts.answer_transport(turn, str(transport))) and frame.data.get("accident"):
            amounts.answer_death(turn)
        frame.data["sum_said"] = bool(transport)

    # ------------------------------------------------------------------ what is known
    def fill(self, turn: Turn, frame: FlowFrame) -> None:
        """Take every fact the conversation holds that the report still misses (or that this
        message corrects)."""
        notes = turn.state.notes
        data = frame.data
        fresh = turn.noted
        corrects = (bool(turn.fact("corrected")) or turn.cue("correction_words")
                    or frame.step in ("confirm", "fix"))
        for key in ("relation", "date", "accident", "hospital", "transport"):
            told = corrects or f"{key}_told" in fresh  # 我是伊女儿, 农历十月廿日: said to correct
            if notes.get(key) not in (None, "") and (key not in data or (key in fresh and told)
                                                     or (key == "hospital" and data.get("hospital_auto"))):
                data[key] = notes[key]
        if notes.get("date_lunar") and "date" in fresh:
            data["date_lunar"] = True
        if notes.get("lunar_pending") and "date" not in data:
            data["lunar_pending"] = notes["lunar_pending"]
        if "stay" in notes:
            data["stay"] = notes["stay"]
        for key in ("name", "phone"):
            value = turn.note_secret(key) if key not in frame.secret or (key in fresh and corrects) else None
            if value:
                turn.keep_secret(frame, key, value)
        earlier_id = turn.note_secret("id_number") if "id_number" not in frame.secret else None
        if earlier_id and data.get("consent_id"):  # given with the consent for a lookup just before
            turn.keep_secret(frame, "id_number", earlier_id)
        self._claim_type(turn, frame)
        if "accident" not in data and notes.get("description") and data.get("claim_type") not in DEATH_TYPES:
            data["accident"] = "other"
        if len(str(notes.get("description") or "")) > len(str(data.get("description") or "")):
            data["description"] = str(notes["description"])[-600:]
        if data.get("claim_type") in DEATH_TYPES and "hospital" not in data:
            data["hospital"], data["hospital_auto"] = "", True  # no hospital question after a death

    def _claim_type(self, turn: Turn, frame: FlowFrame) -> None:
        notes, data = turn.state.notes, frame.data
        if notes.get("death"):
            kind = "transport_death" if notes.get("transport") else "accidental_death"
        elif data.get("claim_type") and data.get("claim_type_set"):
            return  # chosen by the customer
        elif notes.get("grade") or claim_type_from_text(turn, turn.norm) == "disability":
            kind = "disability"
        elif data.get("hospital") or notes.get("stay") or notes.get("days"):
            kind = "hospital_allowance"
        elif notes.get("no_hospital") and not notes.get("hospital"):
            kind = "hospital_allowance"  # no hospital at all: reported as such, staff tell what it gives
            data.setdefault("hospital", "")
        else:
            return
        if data.get("claim_type") != kind:
            data["claim_type"] = kind

    def _missing(self, frame: FlowFrame) -> str | None:
        data = frame.data
        for step in STEPS:
            if step == "consent_id":
                have = bool(data.get("consent_id")) or bool(data.get("no_id"))
            elif step == "id_number":
                have = "id_number" in frame.secret or bool(data.get("no_id"))
            elif step in SECRET_STEPS:
                have = step in frame.secret
            elif step == "accident":  # asked first only after a death told without its cause
                have = ("accident" in data or data.get("claim_type") not in DEATH_TYPES
                        or bool(data.get("cause_asked")))
            else:
                have = step in data
            if step == "date" and "date" not in data and data.get("lunar_pending"):
                return "lunar"
            if not have:
                return step
        if "accident" not in data:
            return "accident_late"
        return None

    # ------------------------------------------------------------------ questions
    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.step == "fix" and self._missing(frame) is None:
            turn.say("cr_which_wrong")
            return
        step = self._missing(frame)
        if step is None:
            frame.step = "confirm"
            self._confirm(turn, frame)
            return
        frame.step = step
        c = turn.copy
        died = frame.data.get("claim_type") in DEATH_TYPES
        if step == "consent_id":
            consent.ask_holding(turn, frame, "id_number")  # a number sent waits for the answer
        elif step == "relation":
            labels = [str(o["label"]) for o in c.table("relation_choices")]
            turn.ask_choice("cr_ask_relation_death" if died else "cr_ask_relation", labels)
        elif step == "claim_type":
            kinds = c.table("claim_type_choices")
            own = frame.data.get("relation") == "self"
            labels = [c.label("cr_type_labels", k) for k in kinds]
            turn.ask_choice("cr_ask_type_self" if own else "cr_ask_type", labels)
        elif step == "lunar":
            month, day = frame.data["lunar_pending"]
            said = (f"{month}月" if month else "") + ("初" if day <= 10 else "") + str(day)
            turn.ask_choice("cr_ask_lunar", [c.t("lunar_choice", day=said), c.t("solar_choice", day=said)])
        elif step == "accident":
            frame.data["cause_asked"] = True
            turn.say("cr_ask_cause")
        else:
            key = {"accident_late": "cr_ask_what", "id_number": "cr_ask_id"}.get(step, f"cr_ask_{step}")
            if died and f"{key}_death" in c.data["text"]:
                key += "_death"
            elif frame.data.get("relation") == "self" and f"{key}_self" in c.data["text"]:
                key += "_self"  # 阮 / 我自己: "您的姓名", not "受伤老人的姓名"
            turn.say(key)

    def remind(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.step == "confirm" and self._missing(frame) is None:
            turn.say("cr_confirm_again")
            return
        self.ask(turn, frame)

    def _confirm(self, turn: Turn, frame: FlowFrame) -> None:
        c = turn.copy
        data = frame.data
        name = turn.secret(frame, "name") or ""
        id_number = turn.secret(frame, "id_number") or ""
        phone = turn.secret(frame, "phone") or ""
        data["relation"] = memory.by_id_sex(str(data["relation"]), id_number)
        accident = c.table("accident_labels").get(data["accident"], data["accident"])
        situation = c.label("cr_type_labels", data["claim_type"])
        if data["claim_type"] == "hospital_allowance":
            stay = data.get("stay")
            key = "unknown" if stay is None else "yes" if stay else "no"
            key = "none" if key == "no" and data.get("hospital") == "" else key  # 无去医院
            situation = c.table("stay_labels")[key]
        values = {
            "who": c.t("cr_who_death" if data["claim_type"] in DEATH_TYPES else "cr_who"),
            "name": mask_name(name),
            "relation": c.table("relation_labels").get(data["relation"], data["relation"]),
            "id_number": mask_id_number(id_number) if id_number else c.t("cr_id_later"),
            "claim_type": situation, "accident": accident,
            "date": cn_date(data["date"], lunar=bool(data.get("date_lunar"))),
            "hospital": data["hospital"] or c.t("cr_none"), "phone": mask_phone(phone),
        }
        shown = "|".join(str(v) for v in values.values())
        if data.get("confirm_shown") == shown and turn.replies == [c.t("noted")]:
            turn.say("cr_confirm_again")  # 人清醒 无生命危险 at the confirmation: not the whole block again
            return
        data["confirm_shown"] = shown
        turn.say("cr_confirm", **values)

    # ------------------------------------------------------------------ create
    def _create(self, turn: Turn, frame: FlowFrame) -> None:
        svc = turn.services
        data = frame.data
        name = turn.secret(frame, "name") or ""
        id_number = turn.secret(frame, "id_number") or None
        phone = turn.secret(frame, "phone") or ""
        day = dt.date.fromisoformat(data["date"])
        check = eligibility(turn.session, cipher=svc.cipher, id_number=id_number, on=day,
                            product=turn.product) if id_number else None
        try:
            claim = report_claim(
                turn.session, cipher=svc.cipher, catalog=svc.catalog, calendar=svc.calendar,
                product_id=turn.product.id, claim_type=data["claim_type"], insured_name=name,
                insured_id_number=id_number, reporter_phone=phone, reporter_relation=data["relation"],
                accident_date=day, accident_type=data["accident"],
                description=data.get("description") or data["accident"],
                channel=turn.message.channel, actor=f"bot:{turn.message.channel}",
                place=data.get("place") or None, hospital=data.get("hospital") or None,
                idempotency_key=idempotency_key(turn, frame), now=turn.now,
                reporter_openid=turn.message.user_id,
                roster_person_id=check.person_id if check is not None and check.found else None,
            )
        except Forbidden as exc:  # the consent was withdrawn meanwhile: nothing is stored
            consent.refused(turn, str((exc.detail or {}).get("category", "id_number")))
            self.finish(turn)
            return
        except ServiceError as exc:
            turn.say("cr_failed", reason=exc.message + "。")
            frame.step = "fix"
            turn.say("cr_which_wrong")
            return
        turn.log_slots["case_no"] = claim.case_no
        turn.state.claim = {"id": claim.id, "case_no": claim.case_no, "claim_type": claim.claim_type}
        turn.say("cr_done", case_no=claim.case_no)
        if claim.claim_type == "accidental_death":  # what the family is owed, said once the report is in
            turn.say("cr_death_amount", amount=turn.product.benefits.accidental_death.amount_yuan)
        elif claim.claim_type == "hospital_allowance" and turn.state.notes.get("days") \
                and turn.state.last.get("amount", {}).get("days") != turn.state.notes.get("days"):
            amounts.stay_sum(turn, int(turn.state.notes["days"]))  # 住了8日: what the stay brings, said once
        elif claim.claim_type == "transport_death" and not frame.data.get("sum_said"):
            # the larger sum on a bus or coach, the ticket to keep (when the report did not start with it)
            amounts.answer_transport(turn, str(turn.state.notes.get("transport") or "motor_vehicle"))
        if check is None:
            turn.say("cr_id_to_send")
        elif not check.found:
            turn.say("cr_not_in_roster")
        elif not check.eligible:
            turn.say("cr_not_eligible", reason=check.reason)
        labels = [m.label for m in turn.product.materials_for(claim.claim_type)]
        turn.say_text(turn.copy.t("cr_materials") + "\n" + "\n".join(
            f"{i}. {label}" for i, label in enumerate(labels, 1)))
        days = turn.product.service_standards.materials_review_working_days
        turn.say("cr_next", days=days)
        grievance.file_with_claim(turn, frame, claim.case_no, phone)
        memory.forget_report(turn)
        self.finish(turn)
        materials.ask_pending(turn)


def death_report(data: dict[str, Any]) -> bool:
    """True when the report under way is about a death."""
    return data.get("claim_type") in DEATH_TYPES
