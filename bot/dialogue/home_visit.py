"""Home visit: address (text or location), name and phone; then the number and the 24 h / 48 h promises."""

from __future__ import annotations

from backend.complaints.home_visits import request_home_visit
from backend.errors import ServiceError
from backend.security.masking import scrub_text
from bot.dialogue import fields
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame


class HomeVisitFlow(Flow):
    """Books a home visit."""

    name = "home_visit"

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        frame.data["purpose"] = scrub_text(turn.text[:300]) if turn.text else ""
        fields.prefill_phone(turn, frame)

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if "address" not in frame.secret:
            frame.step = "address"
            turn.say("hv_ask_address")
        elif "name" not in frame.secret:
            frame.step = "name"
            turn.say("hv_ask_name")
        elif "phone" not in frame.secret:
            frame.step = "phone"
            turn.say("hv_ask_phone")
        else:
            self._book(turn, frame)

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        outcome: Outcome = "pass"
        if frame.step == "address":
            if not turn.interrupts(frame) and len(turn.text) >= 3:
                turn.keep_secret(frame, "address", scrub_text(turn.text[:300]))
                outcome = "ok"
        elif frame.step == "name":
            outcome = fields.take_name(turn, frame)
        elif frame.step == "phone":
            outcome = fields.take_phone(turn, frame)
        if outcome == "ok":
            self.ask(turn, frame)
        return outcome

    def on_location(self, turn: Turn, frame: FlowFrame) -> bool:
        if frame.step != "address" or turn.message.location is None:
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
                name=turn.secret(frame, "name") or "", phone=turn.secret(frame, "phone") or "",
                address=turn.secret(frame, "address") or "",
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
        self.finish(turn)
