"""Info update: a change of phone, bank account or address, always recorded as a request for staff, who
check it before changing anything; nothing is changed silently. A value the first message already gave
(新号码是158…) is confirmed, not asked. The identity is asked as for a policy lookup (consent, ID number,
name), unless the customer named the claim by its case number.
"""

from __future__ import annotations

from backend.handoff.service import request_handoff
from backend.security.masking import mask_phone
from bot.dialogue import claim_change, consent, fields, handoff
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.memory import case_ref
from bot.dialogue.policy import ask_identity, identity, matches, prefill_identity
from bot.dialogue.state import FlowFrame

UPDATE_FIELDS = ("phone", "bank_account", "address")

class InfoUpdateFlow(Flow):
    """A request to change phone, bank account or address, for staff to check and apply."""

    name = "info_update"

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        ref = case_ref(turn) or _claim_ref(turn)
        if ref:  # 案件号…，麻烦改成新号码: the claim is named; staff check who asks on the phone
            frame.data["case_ref"] = str(ref)
        if claim_change.wanted(turn):  # 日期报错了 / 上次那个撤掉: a reported claim, for staff
            claim_change.prefill(turn, frame)
            return
        prefill_identity(turn, frame)
        if turn.cue("other_product_words"):  # 住院医疗险 要改地址: another product's policy, staff check it
            frame.data["other_product"] = True
        elif not ref and turn.state.notes.get("reported_before") and turn.note_secret("name"):
            frame.data["reported_claim"] = True  # 我阿爸陈木坤之前报了案: staff find it by the name
        named = fields.update_fields(turn)
        if named:  # 要改地址和联系电话: one request each, the first asked now
            frame.data["field"] = named[0]
            if named[1:]:
                frame.data["more_fields"] = named[1:]
        phone = turn.note_secret("phone")
        if "field" not in frame.data and phone and turn.cue("update_words") \
                and turn.extract.phones(turn.norm):
            frame.data["field"] = "phone"  # 麻烦改成我妹妹的 135…: the number changed to
        if frame.data.get("field") == "phone" and phone and turn.cue("new_value_words"):
            frame.data["candidate"] = True
            turn.keep_secret(frame, "value", phone)

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.data.get("field") == claim_change.FIELD:
            claim_change.ask(self, turn, frame)
            return
        by_case = bool(frame.data.get("case_ref") or frame.data.get("other_product")
                       or frame.data.get("reported_claim"))
        if not by_case and ask_identity(turn, frame, "iu_ask_id"):
            return
        if "field" not in frame.data:
            frame.step = "field"
            turn.say("iu_ask_what")
        elif frame.data["field"] == "bank_account" and by_case and not frame.data.get("consent"):
            self._card_by_case(turn, frame)  # a new card for a claim named by its number: checked by phone
        elif frame.data["field"] == "bank_account" and not consent.granted(turn, "bank_account"):
            consent.ask(turn, frame, "bank_account")  # D-04: before the account number
        elif frame.data.get("candidate"):
            frame.step = "value_confirm"
            turn.say("iu_confirm_value", what=turn.copy.label("iu_what_labels", frame.data["field"]),
                     value=mask_phone(turn.secret(frame, "value") or ""))
        elif frame.data["field"] == "address" and "value" in frame.secret:
            self._record(turn, frame, turn.secret(frame, "value") or "")  # told before who it was
        else:
            frame.step = "value"
            turn.say("iu_ask_value", what=turn.copy.label("iu_what_labels", frame.data["field"]))

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if frame.data.get("field") == claim_change.FIELD:
            return claim_change.answer(self, turn, frame)
        if frame.step in ("consent_bank_account", "value") and self._card_by_phone(turn, frame):
            return "ok"
        ref = case_ref(turn)
        asking_who = frame.step in ("consent_id_number", "id_number", "name")
        if ref and asking_who and not frame.data.get("case_ref"):
            frame.data["case_ref"] = ref  # 案件号2026100900388 where the ID was asked: the claim, named
            consent.drop_held_id(frame)
            self._new_value(turn, frame)
            self.ask(turn, frame)
            return "ok"
        new_value = self._new_value(turn, frame) or self._early_address(turn, frame)
        if new_value and frame.step == "value" and "early_address" in frame.secret \
                and not turn.noted & {"phone"}:
            turn.say("noted")  # 新地址… while the new phone is asked: kept for the address request
            self.ask(turn, frame)
            return "ok"
        if asking_who and self._by_reported_claim(turn, frame):
            return "ok"
        if frame.step == "consent_id_number" and self._skips_consent(turn, frame):
            return "ok"
        phones = turn.extract.phones(turn.norm)
        if frame.step == "id_number" and phones and not turn.extract.id_like(turn.norm) \
                and frame.data.get("field") != "phone":  # 电话 158… where the ID was asked: a call back
            turn.private_values.append(phones[-1])
            self._to_person(turn, frame, callback=phones[-1])
            return "ok"
        if frame.step in ("consent_id_number", "id_number", "name"):
            outcome = identity(turn, frame)
            if outcome == "pass" and new_value:  # 旧的是138…，新的是136…: kept while the name is asked
                turn.say("noted")
                self.ask(turn, frame)
                return "ok"
            if outcome is None:
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
        if frame.step == "value_confirm":
            phone = (turn.pred.slots or {}).get("phone")
            if phone:
                turn.keep_secret(frame, "value", str(phone))
            elif turn.digit(2) == 2 or (turn.confident and turn.pred.intent == "deny"):
                frame.data.pop("candidate", None)
                frame.secret.pop("value", None)
                self.ask(turn, frame)
                return "ok"
            elif not (turn.digit(2) == 1 or turn.cue("yes_words") or turn.pred.intent == "affirm"):
                if "案件号" in turn.norm or turn.cue("case_where_words"):  # 案件号我唔知: not needed here
                    turn.say("iu_no_case_needed")
                    self.ask(turn, frame)
                    return "ok"
                return "pass"
            return self._record(turn, frame, turn.secret(frame, "value") or "")
        if frame.step == "value":
            return self._value(turn, frame)
        return "pass"

    @staticmethod
    def _new_value(turn: Turn, frame: FlowFrame) -> bool:
        """A new phone number said before it was asked (新的是136…): kept as the value to confirm."""
        if frame.data.get("field", "phone") != "phone" or frame.step in ("value", "value_confirm"):
            return False
        phones = turn.extract.phones(turn.norm)
        # 电话135… on its own while the update is under way: the new number
        alone = len(phones) == 1 and (turn.cue("update_words") or len(turn.norm) <= 16)
        if not phones or not (turn.cue("new_value_words") or alone):
            return False
        frame.data["field"] = "phone"
        frame.data["candidate"] = True
        # 旧的是…，新的是…: the conversation's notes already hold the number after the "new" word
        turn.keep_secret(frame, "value", turn.note_secret("phone") or phones[-1])
        return True

    @staticmethod
    def _early_address(turn: Turn, frame: FlowFrame) -> bool:
        """新地址潮南区陇田镇… while who it is is still asked: kept as the new address."""
        later = "address" in (frame.data.get("more_fields") or [])
        if not later and (frame.data.get("field") != "address" or frame.step == "value"
                          or "value" in frame.secret):
            return False
        if not ("新地址" in turn.norm or turn.cue("new_value_words")) or not turn.extract.address(turn.plain):
            return False
        turn.keep_secret(frame, "early_address" if later else "value", turn.text[:300])
        return True

    def _by_reported_claim(self, turn: Turn, frame: FlowFrame) -> bool:
        """阿嬷叫郑秀娥 伊之前报过案, said where the ID was asked: staff find the claim by the name, as
        when the first message said so; no ID is needed. True when this message did it."""
        name = turn.note_secret("name") or turn.secret(frame, "name")
        if frame.data.get("reported_claim") or not turn.state.notes.get("reported_before") or not name:
            return False
        consent.drop_held_id(frame)
        turn.keep_secret(frame, "name", name)
        if frame.data.get("candidate"):  # the new value known: recorded, a person checks who asks
            self._to_person(turn, frame)
            return True
        frame.data["reported_claim"] = True
        self.ask(turn, frame)
        return True

    def _skips_consent(self, turn: Turn, frame: FlowFrame) -> bool:
        """The consent question met twice with details instead of a yes or a no (我妈叫…, 身份证…,
        钱打到旧卡会不会收不到): the request is recorded with what is known and a person checks the
        identity with the customer. True when this message was such an answer."""
        if turn.digit(2) is not None or turn.cue("agree_words") or turn.cue("refuse_words") or (
                turn.confident and turn.pred.intent in ("affirm", "deny")):
            return False
        field = str(frame.data.get("field") or "")
        words = (turn.copy.table("update_field_words") or {}).get(field) or []
        about_it = bool(field) and any(w in turn.norm for w in words)
        told = bool(turn.noted & {"name", "phone"}) or bool((turn.pred.slots or {}).get("id_number"))
        if not (told or about_it or turn.extract.name(turn.plain, whole=True)):
            return False
        skips = int(frame.data.get("consent_skips", 0)) + 1
        frame.data["consent_skips"] = skips
        name = turn.extract.name(turn.plain, whole=True) or turn.extract.name(turn.plain)
        if name:  # 伊叫刘锡坤: kept, not asked again after the consent
            turn.keep_secret(frame, "name", name)
        if skips < 2:
            consent.hold_id(turn, frame)
            turn.say("iu_old_card" if turn.asks and field == "bank_account" else "noted")
            self.ask(turn, frame)
            return True
        consent.drop_held_id(frame)  # no consent was given: the ID sent is not kept
        self._to_person(turn, frame)
        return True

    def _to_person(self, turn: Turn, frame: FlowFrame, callback: str = "") -> None:
        """The request recorded with what is known, for a person to check the identity with the
        customer (on ``callback``, the number they gave, when they gave one instead of the ID)."""
        field = str(frame.data.get("field") or "")
        name = turn.note_secret("name") or turn.secret(frame, "name") or ""
        value = turn.secret(frame, "value") or "" if frame.data.get("candidate") else ""
        what = turn.copy.label("iu_what_labels", field or "phone")
        number = self.request(turn, frame, summary=f"修改{what}（待核实身份）", field=field or "phone",
                               value=value, callback=callback, name=name, id_number="", verified=False)
        turn.say("iu_to_person", what=what, number=number)
        handoff.hand_off(turn, "asked")

    def _card_by_phone(self, turn: Turn, frame: FlowFrame) -> bool:
        """改银行卡 … 你们工作人员打我电话 136…: the request is recorded and staff take the card number
        on the phone; it is never asked for here again. True when this message was such an answer."""
        phones = turn.extract.phones(turn.norm)
        short = "电话" in turn.norm and len(turn.norm) <= 20  # 我电话 139…: where to call, said alone
        if frame.data.get("field") != "bank_account" or not phones or not (
                turn.cue("callback_words") or turn.cue("callback_pref_words") or short):
            return False
        turn.private_values.append(phones[-1])
        self._card_request(turn, frame, callback=phones[-1], say="iu_card_by_phone")
        return True

    def _card_by_case(self, turn: Turn, frame: FlowFrame) -> None:
        """A new card for a claim named by its number, the identity not checked here: recorded, and
        staff take the card number on the phone the claim has (no card number is asked in chat)."""
        self._card_request(turn, frame, callback="", say="iu_card_by_case")

    def _card_request(self, turn: Turn, frame: FlowFrame, *, callback: str, say: str) -> None:
        recorded = turn.state.notes.get("card_request")
        if recorded and not callback:  # 新卡是农业银行… after it was recorded: the same request, not a second
            turn.say(say, number=recorded)
            self.finish(turn)
            return
        number = self.request(turn, frame, summary=f"修改收款银行卡（打电话核对卡号）{_of_case(frame)}",
                               field="bank_account", callback=callback)
        turn.state.notes["card_request"] = number
        turn.say(say, number=number)
        self.finish(turn)
        _drop_progress_lookup(turn, frame)

    def _value(self, turn: Turn, frame: FlowFrame) -> Outcome:
        field = str(frame.data["field"])
        digits = "".join(ch for ch in turn.norm if ch.isdigit())
        if field == "phone":
            value = str((turn.pred.slots or {}).get("phone") or "")
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
        return self._record(turn, frame, value)

    def _record(self, turn: Turn, frame: FlowFrame, value: str) -> Outcome:
        field = str(frame.data["field"])
        turn.private_values.append(value)
        number = self.request(turn, frame, summary=f"修改{turn.copy.label('iu_what_labels', field)}"
                                                    f"{_of_case(frame)}", field=field, value=value)
        turn.say("iu_done", number=number)
        self.finish(turn)
        if not self._then(turn, frame, value if field == "phone" else "") and frame.data.get("other_product"):
            turn.say("iu_other_product", days=turn.product.service_standards.policy_change_working_days)
            turn.state.last["other_product"] = True
        return "ok"

    def _then(self, turn: Turn, done: FlowFrame, new_phone: str) -> bool:
        """还有收款的银行卡，要改成我的卡 in the message that confirmed the first change: the second
        change starts with who it is already known (a card for a named claim is checked on the new phone)."""
        _drop_progress_lookup(turn, done)
        more = [str(f) for f in done.data.get("more_fields") or []]
        finished = [*(done.data.get("done_fields") or []), done.data.get("field")]
        field = next((f for f in fields.update_fields(turn) if f not in finished), None) \
            or (more[0] if more else None)
        if field is None:
            return False
        frame = FlowFrame(flow=self.name, data={k: v for k, v in done.data.items()
                                                if k in ("case_ref", "consent", "other_product")}
                          | {"field": field, "done_fields": finished})
        if [f for f in more if f != field]:
            frame.data["more_fields"] = [f for f in more if f != field]
        for key in ("name", "id_number"):
            if key in done.secret:
                turn.keep_secret(frame, key, turn.secret(done, key) or "")
        if field == "address" and "early_address" in done.secret:  # 新地址… told while the phone was asked
            turn.keep_secret(frame, "value", turn.secret(done, "early_address") or "")
        turn.state.frame = frame
        if field == "bank_account" and frame.data.get("case_ref") and new_phone:
            self._card_request(turn, frame, callback=new_phone, say="iu_card_by_phone")
        else:
            self.ask(turn, frame)
        return True

    def request(self, turn: Turn, frame: FlowFrame, *, summary: str, field: str, value: str = "",
                 callback: str = "", name: str | None = None, id_number: str | None = None,
                 verified: bool | None = None) -> int:
        """The request for staff (one shape for every change); its number. The name, ID and roster
        check default to what this frame holds."""
        if verified is None:
            verified, _ = matches(turn, frame)
        row = request_handoff(
            turn.session, channel=turn.message.channel, user_id=turn.message.user_id,
            reason="info_update", flow=self.name, summary=summary, cipher=turn.services.cipher, now=turn.now,
            payload={"field": field, "value": value, "callback_phone": callback,
                     "id_number": turn.secret(frame, "id_number") or "" if id_number is None else id_number,
                     "name": turn.secret(frame, "name") or "" if name is None else name,
                     "roster_match": "yes" if verified else "no",
                     "case_no": str(frame.data.get("case_ref") or "")},
        )
        return int(row.id)


def _of_case(frame: FlowFrame) -> str:
    if frame.data.get("other_product"):
        return "（其他健康险保单，核对保单和身份后再改）"
    if frame.data.get("reported_claim"):
        return "（客户说之前报过案，按老人姓名和电话核对后再改）"
    ref = frame.data.get("case_ref")
    return "（客户给了案件号，核对身份后再改）" if ref else ""  # the number itself: in the payload


def _claim_ref(turn: Turn) -> str | None:
    """The claim this conversation named or reported before (its case number), if any."""
    return turn.state.notes.get("case_ref") or (turn.state.claim or {}).get("case_no")


def _drop_progress_lookup(turn: Turn, frame: FlowFrame) -> None:
    """案件号… then 以后请联系我…: the number named the claim to change, it asked no progress; a progress
    lookup it started, still waiting for the consent, is not taken up again once the change is recorded."""
    waiting = turn.state.suspended
    if frame.data.get("case_ref") and waiting is not None and waiting.flow == "claim_progress" \
            and waiting.step in ("consent_id_number", "id_number"):
        turn.state.suspended = None


def death_since(turn: Turn) -> int:
    """The old person died after the claim was reported: a request for staff to add the death to it."""
    ref = _claim_ref(turn)
    frame = FlowFrame(flow=InfoUpdateFlow.name, data={"case_ref": str(ref)} if ref else {})
    which = f"案件号{ref}" if ref else "没有案件号，按电话核对"
    number = InfoUpdateFlow().request(turn, frame, summary=f"报案后老人去世，补充身故（{which}）",
                                      field=claim_change.FIELD, value="老人已去世", name="", id_number="",
                                      verified=False)
    turn.state.last["claim_change"] = number
    return number
