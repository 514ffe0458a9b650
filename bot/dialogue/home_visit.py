"""Home visit: address (text or location) and phone; then the number and the 24 h / 48 h promises.
What the conversation already holds (a phone number, a name, "住在胪岗镇") is not asked again; the
elder's name goes with the visit when it was said, otherwise the staff ask for it on the phone; what
the customer adds after booking (a time that suits them) is kept with the visit. A report left
half-way for the visit is done by the visiting staff (the visit's purpose says so).
"""

from __future__ import annotations

import re

from backend.complaints.home_visits import (
    add_customer_words,
    cancel_visit_by_customer,
    change_visit_phone,
    request_home_visit,
)
from backend.errors import ServiceError
from backend.security.masking import scrub_text
from bot.dialogue import contact, fields, oneshots
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.extract import LunarDay
from bot.dialogue.state import FlowFrame

_RE_CJK_ONLY = re.compile(r"[\u4e00-\u9fff]+")
_PHONE_READS = ("complaint", "info_update", "contact_info", "human_agent")


class HomeVisitFlow(Flow):
    """Books a home visit."""

    name = "home_visit"

    def start(self, turn: Turn, frame: FlowFrame) -> None:
        if turn.asks:  # 能唔能赔？能派人来吗？: the question about the case first
            oneshots.case_answer(turn)
        super().start(turn, frame)

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        notes = turn.state.notes
        purpose = str(notes.get("description") or "") + " " + (turn.text if turn.text else "")
        frame.data["purpose"] = scrub_text(purpose.strip()[:300], private_values=turn.private_values)
        for key in ("phone", "name", "address"):
            value = turn.note_secret(key)
            if value:
                turn.keep_secret(frame, key, value)
        fields.prefill_phone(turn, frame)

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        asked = int(frame.data.get("address_asked", 0))
        if "address" not in frame.secret and asked < 2:  # asked twice in vain: the staff ask on the phone
            frame.step = "address"
            frame.data["address_asked"] = asked + 1
            turn.say("hv_ask_address")
        elif "phone" not in frame.secret:
            frame.step = "phone"
            turn.say("hv_ask_phone")
        else:  # the name (and an address asked twice in vain) is asked on the phone: booking does not wait
            self._book(turn, frame)

    def remind(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.step != "booked":
            self.ask(turn, frame)

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if frame.step == "booked":
            phones = turn.extract.phones(turn.norm)
            # 算了，你们打我妹妹的吧，137…: another number for the visit, read as a complaint by the model
            calm_phone = bool(phones) and turn.pred.intent in _PHONE_READS and not (
                turn.cue("angry_words") or turn.cue("complaint_only_words"))
            if turn.interrupts(frame) and turn.pred.intent != "home_visit" and not calm_phone:
                return "pass"
            if turn.cue("thanks_words"):
                turn.say("hv_wait")
            elif turn.cue("visit_cancel_words") and cancel_visit_by_customer(
                    turn.session, cipher=turn.services.cipher, visit_no=str(frame.data["visit_no"]),
                    openid=turn.message.user_id, reason="客户在聊天里取消", now=turn.now):
                turn.say("hv_cancelled")  # 等一下 唔使来了: cancelled; a question with it answered next
                self.finish(turn)
                if turn.asks and turn.pred.intent == "contact_info":
                    contact.answer(turn)  # 网点礼拜六有开吗: the opening hours
                elif turn.asks and turn.pred.intent == "product_question":
                    oneshots.product_question(turn, follow_up=False)
                return "ok"
            elif phones and change_visit_phone(turn.session, cipher=turn.services.cipher,
                                               visit_no=str(frame.data["visit_no"]),
                                               openid=turn.message.user_id, phone=phones[-1]):
                turn.private_values.append(phones[-1])
                turn.say("hv_phone_changed")  # 唔好打阿公的，打我的157…: the staff call that number
            else:  # a time that suits them (初五以后): kept with the visit for the staff who call
                add_customer_words(turn.session, cipher=turn.services.cipher,
                                   visit_no=str(frame.data["visit_no"]), openid=turn.message.user_id,
                                   words=self._when(turn))
                turn.say("hv_time_noted")
            self.finish(turn)
            return "ok"
        self._take_known(turn, frame)
        outcome: Outcome = "pass"
        if frame.step == "address":
            address = turn.extract.address(turn.plain)
            if "address" in frame.secret:
                outcome = "ok"
            elif address and not turn.asks:
                turn.keep_secret(frame, "address", address[:300])
                outcome = "ok"
            elif turn.noted & {"name", "phone"}:
                turn.say("noted")
                outcome = "ok"
            elif self._purpose(turn, frame) or self._bare_place(turn, frame):
                outcome = "ok"
        elif frame.step == "phone":
            address = turn.extract.address(turn.plain) if "address" not in frame.secret else None
            if address:  # the address after all, where the phone was asked
                turn.keep_secret(frame, "address", address[:300])
            outcome = "ok" if "phone" in frame.secret else fields.take_phone(turn, frame)
            if outcome == "pass" and address:
                turn.say("noted")
                outcome = "ok"
            elif outcome == "pass" and self._more(turn, frame):
                outcome = "ok"
        if outcome == "ok":
            self.ask(turn, frame)
        return outcome

    @staticmethod
    def _purpose(turn: Turn, frame: FlowFrame) -> bool:
        """交材料 / 阮住院个 where the address was asked: why the visit, kept with it."""
        if turn.asks or turn.pred.intent not in ("claim_materials", "claim_report") or len(turn.norm) > 30:
            return False
        words = scrub_text(turn.norm, private_values=turn.private_values)
        frame.data["purpose"] = (str(frame.data.get("purpose") or "") + " " + words).strip()[-300:]
        frame.data["address_asked"] = max(0, int(frame.data.get("address_asked", 0)) - 1)  # not a miss
        turn.say("noted")
        return True

    @staticmethod
    def _more(turn: Turn, frame: FlowFrame) -> bool:
        """他走不了，材料没人送 / 能不能派人上门收材料？ where the phone was asked: kept with the visit
        (a question about the visit answered yes), the phone asked again, no miss counted."""
        if len(turn.norm) < 6 or turn.interrupts(frame) or (turn.asks and not turn.cue("visit_words")):
            return False
        words = scrub_text(turn.norm, private_values=turn.private_values)
        frame.data["purpose"] = (str(frame.data.get("purpose") or "") + " " + words).strip()[-300:]
        turn.say("hv_yes" if turn.asks else "noted")
        return True

    @staticmethod
    def _bare_place(turn: Turn, frame: FlowFrame) -> bool:
        """峡山桃溪: a town of the district and a few characters where the address was asked (the staff
        check it on the phone), not a yes, a name or a question."""
        bare = turn.plain.strip(" 。，,.!！啦啊")
        towns = turn.extract.towns
        if not (3 <= len(bare) <= 15 and _RE_CJK_ONLY.fullmatch(bare) and any(t in bare for t in towns)) \
                or turn.asks or turn.interrupts(frame) \
                or turn.extract.is_name(bare) or turn.cue("yes_words") or turn.cue("wrong_words"):
            return False
        turn.keep_secret(frame, "address", bare)
        return True

    def _take_known(self, turn: Turn, frame: FlowFrame) -> None:
        for key in ("phone", "name", "address"):
            if key in turn.noted:
                value = turn.note_secret(key)
                if value:
                    turn.keep_secret(frame, key, value)

    @staticmethod
    def _when(turn: Turn) -> str:
        """What the customer added after booking (初五以后, 礼拜三上午), a lunar day also in solar."""
        text = scrub_text(turn.norm[:60], private_values=turn.private_values)
        lunar = turn.extract.lunar(turn.norm) if turn.fact("lunar_date") else None
        if lunar is not None:
            day = LunarDay(lunar.month, lunar.day, explicit=True).solar(turn.today, future=True)
            if day is not None:
                text += f"（阳历{day.month}月{day.day}日）"
        return turn.copy.t("hv_customer_added", text=text)

    def on_location(self, turn: Turn, frame: FlowFrame) -> bool:
        if frame.step not in ("address", "phone") or "address" in frame.secret \
                or turn.message.location is None:
            return False
        lat, lon, label = turn.message.location
        turn.keep_secret(frame, "address", f"{label} ({lat:.5f},{lon:.5f})".strip()[:300])
        self.ask(turn, frame)
        return True

    def _book(self, turn: Turn, frame: FlowFrame) -> None:
        claim = turn.state.claim or {}
        try:
            visit = request_home_visit(
                turn.session, cipher=turn.services.cipher, catalog=turn.services.catalog,
                name=turn.secret(frame, "name") or turn.copy.t("hv_name_unknown"),
                phone=turn.secret(frame, "phone") or "",
                address=turn.secret(frame, "address") or turn.copy.t("hv_address_by_phone"),
                purpose=frame.data.get("purpose") or str(turn.copy.table("intent_labels")["home_visit"]),
                channel=turn.message.channel, actor=f"bot:{turn.message.channel}",
                product_id=turn.product.id, openid=turn.message.user_id,
                related_case_no=claim.get("case_no"), now=turn.now,
            )
        except ServiceError as exc:
            turn.say("cr_failed", reason=exc.message + "。")
            self.finish(turn)
            return
        std = turn.product.service_standards
        turn.log_slots["visit_no"] = visit.visit_no
        turn.say("hv_done", number=visit.visit_no, contact_hours=std.home_visit_contact_hours,
                 visit_hours=std.home_visit_visit_hours)
        suspended = turn.state.suspended
        if suspended is not None and suspended.flow == "claim_report":
            turn.state.suspended = None  # the visiting staff take the report at home
            turn.say("hv_report_at_home")
        frame.step = "booked"  # a time the customer adds next is noted for the phone call
        frame.data["visit_no"] = visit.visit_no
