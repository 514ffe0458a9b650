"""Claim report (报案): who was hurt, what happened, when, where, hospital, phone; confirm; create.

Slots already in the first message are not asked again. Private values (name, ID number, phone) stay
encrypted in the state. The claim's idempotency key comes from the conversation, so a repeated "yes"
(or a redelivered message) cannot create a second claim.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from backend.claims.service import report_claim
from backend.errors import Forbidden, ServiceError
from backend.roster.idcard import InvalidIdNumber, validate_id_number
from backend.roster.service import eligibility
from backend.security.masking import mask_id_number, mask_name, mask_phone, scrub_text
from bot.dialogue import consent, materials
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.parsing import claim_type_from_text, parse_name
from bot.dialogue.state import FlowFrame

STEPS = ("relation", "name", "consent_id", "id_number", "claim_type", "accident", "date", "place", "hospital",
         "phone")
SECRET_STEPS = ("name", "id_number", "phone")
_FIX_ORDER = ("name", "id_number", "claim_type", "date", "place", "hospital", "phone")


def idempotency_key(turn: Turn, frame: FlowFrame) -> str:
    """One key per report conversation (channel, user, flow instance)."""
    raw = f"{turn.message.channel}\x00{turn.message.user_id}\x00{frame.conv_id}"
    return "dlg-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


class ClaimReportFlow(Flow):
    """Collects a claim report and creates the claim."""

    name = "claim_report"

    # ------------------------------------------------------------------ slots
    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        turn.say("cr_start")
        if turn.text:
            frame.data["description"] = scrub_text(turn.text[:300])
        if consent.granted(turn, "id_number"):  # agreed before (D-04): not asked again
            frame.data["consent_id"] = True
        self._absorb(turn, frame)

    def _absorb(self, turn: Turn, frame: FlowFrame) -> None:
        """Take every slot the message carries that is still missing."""
        slots = turn.pred.slots
        data = frame.data
        if "relation" not in data and slots.get("relation"):
            data["relation"] = str(slots["relation"])
        # The ID number is taken only after the customer agreed to its use (D-04).
        if "id_number" not in frame.secret and slots.get("id_number") and data.get("consent_id"):
            turn.keep_secret(frame, "id_number", str(slots["id_number"]))
        if "phone" not in frame.secret and slots.get("phone"):
            turn.keep_secret(frame, "phone", str(slots["phone"]))
        if "accident" not in data and slots.get("accident_type"):
            data["accident"] = str(slots["accident_type"])
        if "date" not in data and slots.get("date") and self._date_ok(turn, str(slots["date"])):
            data["date"] = str(slots["date"])
        if "claim_type" not in data and turn.text:
            kind = claim_type_from_text(turn, turn.text)
            if kind:
                data["claim_type"] = kind

    @staticmethod
    def _date_ok(turn: Turn, iso: str) -> bool:
        try:
            day = dt.date.fromisoformat(iso)
        except ValueError:
            return False
        return day <= turn.today

    def _missing(self, frame: FlowFrame) -> str | None:
        for step in STEPS:
            have = step in frame.secret if step in SECRET_STEPS else step in frame.data
            if step == "consent_id":
                have = bool(frame.data.get("consent_id"))
            if not have:
                return step
        return None

    # ------------------------------------------------------------------ questions
    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.step in ("confirm", "fix") and self._missing(frame) is None:
            if frame.step == "fix":
                turn.say("cr_which_wrong")
            else:
                self._confirm(turn, frame)
            return
        step = self._missing(frame)
        if step is None:
            frame.step = "confirm"
            self._confirm(turn, frame)
            return
        frame.step = step
        c = turn.copy
        if step == "consent_id":
            if consent.granted(turn, "id_number"):
                frame.data["consent_id"] = True
                self.ask(turn, frame)
            else:
                consent.ask(turn, frame, "id_number")
        elif step == "relation":
            labels = [str(o["label"]) for o in c.table("relation_choices")]
            turn.ask_choice("cr_ask_relation", labels)
        elif step == "name":
            turn.say("cr_ask_name")
        elif step == "id_number":
            turn.say("cr_ask_id")
        elif step == "claim_type":
            kinds = c.table("claim_type_choices")
            turn.ask_choice("cr_ask_type", [c.label("cr_type_labels", k) for k in kinds])
        elif step == "accident":
            turn.say("cr_ask_what")
        elif step == "date":
            turn.say("cr_ask_date")
        elif step == "place":
            turn.say("cr_ask_place")
        elif step == "hospital":
            turn.say("cr_ask_hospital")
        elif step == "phone":
            turn.say("cr_ask_phone")

    def _confirm(self, turn: Turn, frame: FlowFrame) -> None:
        c = turn.copy
        data = frame.data
        name = turn.secret(frame, "name") or ""
        id_number = turn.secret(frame, "id_number") or ""
        phone = turn.secret(frame, "phone") or ""
        accident = c.table("accident_labels").get(data["accident"], data["accident"])
        turn.say(
            "cr_confirm",
            name=mask_name(name),
            relation=c.table("relation_labels").get(data["relation"], data["relation"]),
            id_number=mask_id_number(id_number),
            claim_type=c.label("cr_type_labels", data["claim_type"]),
            accident=accident,
            date=_cn_date(data["date"]),
            place=data["place"],
            hospital=data["hospital"] or c.t("cr_none"),
            phone=mask_phone(phone),
        )

    # ------------------------------------------------------------------ answers
    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        step = frame.step or ""
        handler = getattr(self, f"_answer_{step}", None)
        if handler is None:
            return "pass"
        outcome: Outcome = handler(turn, frame)
        if outcome == "ok":
            self._absorb(turn, frame)
            if turn.state.frame is frame:
                self.ask(turn, frame)
        return outcome

    def _answer_relation(self, turn: Turn, frame: FlowFrame) -> Outcome:
        options = turn.copy.table("relation_choices")
        n = turn.digit(len(options))
        if n is not None:
            frame.data["relation"] = str(options[n - 1]["value"])
            return "ok"
        if turn.pred.slots.get("relation"):
            return "ok"  # _absorb takes it
        return "pass"

    def _answer_name(self, turn: Turn, frame: FlowFrame) -> Outcome:
        name = parse_name(turn.text)
        if name is not None and not (turn.interrupts(frame) and len(name) > 4):
            turn.keep_secret(frame, "name", name)
            turn.log_slots["insured_name"] = name
            return "ok"
        if turn.interrupts(frame):
            return "pass"
        turn.say("cr_bad_name")
        return "invalid"

    def _answer_consent_id_number(self, turn: Turn, frame: FlowFrame) -> Outcome:
        agreed = consent.answer(turn, "id_number")
        if agreed is None:
            return "pass"
        if agreed:
            frame.data["consent_id"] = True
        else:
            consent.refused(turn, "id_number")
            self.finish(turn)
        return "ok"

    def _answer_id_number(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if turn.pred.slots.get("id_number"):
            return "ok"
        digits = "".join(ch for ch in turn.text if ch.isdigit() or ch in "xX")
        if len(digits) >= 6:
            try:
                info = validate_id_number(digits, today=turn.today)
            except InvalidIdNumber as exc:
                turn.say("cr_bad_id", reason=exc.message + "。")
                return "invalid"
            turn.keep_secret(frame, "id_number", info.number)
            return "ok"
        return "pass"

    def _answer_claim_type(self, turn: Turn, frame: FlowFrame) -> Outcome:
        kinds = turn.copy.table("claim_type_choices")
        n = turn.digit(len(kinds))
        kind = kinds[n - 1] if n is not None else claim_type_from_text(turn, turn.text)
        if kind is None:
            return "pass"
        if kind == "accidental_death" and turn.pred.slots.get("transport"):
            kind = "transport_death"
        frame.data["claim_type"] = kind
        return "ok"

    def _answer_accident(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if turn.pred.slots.get("accident_type"):
            return "ok"
        if turn.interrupts(frame) or len(turn.text) < 2:
            return "pass"
        frame.data["accident"] = "other"
        frame.data["description"] = (frame.data.get("description", "") + " " + scrub_text(turn.text[:200]))
        return "ok"

    def _answer_date(self, turn: Turn, frame: FlowFrame) -> Outcome:
        iso = turn.pred.slots.get("date")
        if iso and self._date_ok(turn, str(iso)):
            frame.data["date"] = str(iso)
            return "ok"
        if iso or any(ch.isdigit() for ch in turn.text):
            turn.say("cr_bad_date")
            return "invalid"
        return "pass"

    def _answer_place(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if turn.interrupts(frame) or len(turn.text) < 2:
            return "pass"
        frame.data["place"] = scrub_text(turn.text[:100])
        return "ok"

    def _answer_hospital(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if turn.is_none_answer():
            frame.data["hospital"] = ""
            return "ok"
        if turn.interrupts(frame) or len(turn.text) < 2:
            return "pass"
        frame.data["hospital"] = scrub_text(turn.text[:100])
        if "claim_type" not in frame.data:
            frame.data["claim_type"] = claim_type_from_text(turn, turn.text) or frame.data.get("claim_type")
            if frame.data["claim_type"] is None:
                del frame.data["claim_type"]
        return "ok"

    def _answer_phone(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if turn.pred.slots.get("phone"):
            return "ok"
        if sum(ch.isdigit() for ch in turn.text) >= 5:
            turn.say("cr_bad_phone")
            return "invalid"
        return "pass"

    def _answer_confirm(self, turn: Turn, frame: FlowFrame) -> Outcome:
        n = turn.digit(2)
        yes = n == 1 or (n is None and turn.confident and turn.pred.intent == "affirm")
        no = n == 2 or (n is None and turn.confident and turn.pred.intent == "deny")
        if yes:
            self._create(turn, frame)
            return "ok"
        if no:
            frame.step = "fix"
            return "ok"
        return "pass"

    def _answer_fix(self, turn: Turn, frame: FlowFrame) -> Outcome:
        n = turn.digit(len(_FIX_ORDER))
        if n is None:
            return "pass"
        field = _FIX_ORDER[n - 1]
        if field in SECRET_STEPS:
            frame.secret.pop(field, None)
        else:
            frame.data.pop(field, None)
            if field == "claim_type":
                frame.data.pop("accident", None)
        frame.step = None
        return "ok"

    def on_location(self, turn: Turn, frame: FlowFrame) -> bool:
        if frame.step != "place" or turn.message.location is None:
            return False
        lat, lon, label = turn.message.location
        frame.data["place"] = (label or f"{lat:.5f},{lon:.5f}")[:100]
        self.ask(turn, frame)
        return True

    def on_image(self, turn: Turn, frame: FlowFrame) -> bool:
        if turn.message.media_id:
            turn.state.pending_media.append({"media_id": turn.message.media_id})
        turn.say("cr_images_later")
        self.ask(turn, frame)
        return True

    # ------------------------------------------------------------------ create
    def _create(self, turn: Turn, frame: FlowFrame) -> None:
        svc = turn.services
        data = frame.data
        name = turn.secret(frame, "name") or ""
        id_number = turn.secret(frame, "id_number") or ""
        phone = turn.secret(frame, "phone") or ""
        day = dt.date.fromisoformat(data["date"])
        check = eligibility(turn.session, cipher=svc.cipher, id_number=id_number, on=day,
                            product=turn.product)
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
                roster_person_id=check.person_id if check.found else None,
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
        if not check.found:
            turn.say("cr_not_in_roster")
        elif not check.eligible:
            turn.say("cr_not_eligible", reason=check.reason)
        labels = [m.label for m in turn.product.materials_for(claim.claim_type)]
        turn.say_text(turn.copy.t("cr_materials") + "\n" + "\n".join(
            f"{i}. {label}" for i, label in enumerate(labels, 1)))
        days = turn.product.service_standards.materials_review_working_days
        turn.say("cr_next", days=days)
        self.finish(turn)
        materials.ask_pending(turn)


def _cn_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"
