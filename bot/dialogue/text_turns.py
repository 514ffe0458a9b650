"""Text turns that are not an answer to the question pending: asides beside a flow (a question, a
wait, "I don't understand"), unsure readings that can still be answered, acknowledgements, a bare ID
number, and questions about an accident rather than a report of one. A mixin of the router."""

from __future__ import annotations

import re
from typing import Any

from bot.dialogue import amounts, consent, cover_start, faq, fields, memory, oneshots, understanding
from bot.dialogue.context import NoPrediction, Turn
from bot.dialogue.copy import Copy
from bot.dialogue.memory import died
from bot.dialogue.state import FlowFrame
from intents.faq import render_text

# a question of a long message: the clause before its question mark
_RE_QUESTION_END = re.compile(r"[^。！!；;？?]{2,}[？?]")
_QUESTION_FAQ_SCORE = 0.5
_RE_SPACE_CLAUSE = re.compile(r"[\s，,。！!；;]+")
_RE_ASKING = re.compile(r"[吗呢么嘛]$|什么|乜|多久|几时|多少|几多|怎么|做呢|哪|边间|能不能|可不可以|唔知")
TRIES = "tries"  # the frame's count of answers in a row that did not answer its pending question
# Intents offered as numbered choices when the NLU is not sure.
CHOICE_INTENTS = ("product_question", "claim_report", "claim_materials", "claim_progress", "complaint",
                  "home_visit", "contact_info", "policy_lookup", "info_update", "human_agent")


class TextTurns:
    """The router's handling of asides and unsure readings (``Router`` provides the rest)."""

    nlu: Any
    copy: Copy

    def _start_intent(self, turn: Turn, intent: str, *, chosen: bool = False) -> None:
        raise NotImplementedError

    def _miss(self, turn: Turn) -> bool:
        raise NotImplementedError

    def _stuck(self, turn: Turn, frame: FlowFrame) -> bool:
        """The second answer in a row that does not answer the same question: never the same question
        a third time; another way instead (a person calls, or try once more). True when offered."""
        if turn.state.frame is not frame or frame.step is None:
            return False
        tries = frame.data.get(TRIES) or {}
        count = int(tries.get("n", 0)) + 1 if tries.get("step") == frame.step else 1
        frame.data[TRIES] = {"step": frame.step, "n": count}
        if count < 2:
            return False
        frame.data.pop(TRIES, None)
        turn.state.choice = {"kind": "stuck", "options": ["human_agent", "again"]}
        turn.ask_choice("stuck", [self.copy.t("stuck_person"), self.copy.t("stuck_again")])
        return True

    def _aside(self, turn: Turn) -> bool:
        """A question or remark beside the pending question, answered; False when there is none."""
        if turn.cue("unclear_words"):
            oneshots.unclear(turn)
            return True
        pause = len(turn.norm) <= 16 and not turn.asks and turn.copy.starts_with_any("wait_words", turn.norm)
        if turn.cue("wait_words") and (len(turn.norm) <= 10 or pause):
            turn.say("wait_ok")  # 等一下 我打电话问清楚: a pause
            return True
        if self._several_questions(turn):
            return True
        if oneshots.case_answer(turn):
            return True
        intent = turn.pred.intent
        if turn.asks and turn.cue("bank_card_words"):
            turn.say("bank_card_where" if turn.cue("bank_where_words") else "bank_card_how")
            return True
        if turn.asks and intent == "claim_progress" and turn.cue("timeline_words"):
            faq.answer_topic(turn, "claim_timeline", follow_up=False)
            return True
        if turn.asks and intent == "product_question" and turn.pred.faq_topic:
            oneshots.product_question(turn, follow_up=False)
            return True
        if turn.asks and intent == "claim_materials":
            oneshots.claim_materials(turn)
            return True
        if understanding.small_talk(turn):
            turn.say("small_talk")
            return True
        return False

    def _route(self, turn: Turn) -> None:
        notes = turn.state.notes
        if turn.cue("unclear_words") and turn.state.last.get("topic"):
            oneshots.unclear(turn)
            return
        short = len(turn.norm) <= 10
        greets = turn.confident and turn.pred.intent == "greeting"  # 在吗: the person is coming
        if notes.get("handoff") and short and (turn.cue("wait_words") or turn.cue("ack_words") or greets):
            turn.say("handoff_pending")
            return
        if notes.get("mass") and turn.pred.intent in ("claim_report", "claim_materials", "product_question",
                                                      "home_visit", "out_of_scope", "complaint", "affirm"):
            turn.say("handoff_pending" if notes.get("mass") == "said" else "mass_again")
            notes["mass"] = "said"
            return
        if turn.pred.intent != "info_update" and oneshots.other_product(turn):
            return  # 住院医疗险要续保吗: another product of the insurer, served by staff
        if turn.cue("how_query_words") and turn.state.last.get("progress_done"):
            turn.say("cp_how", days=turn.product.service_standards.progress_notice_every_working_days)
            return
        if turn.cue("wait_words") and short and turn.state.last.get("intent"):
            turn.say("wait_ok")
            return
        if notes.get("handoff") and turn.noted & {"phone", "name"}:
            turn.say("handoff_pending")
            return
        if self._report_fact(turn):
            return
        if self._ack(turn):
            return
        if oneshots.lookup_followup(turn):
            return
        if self._bare_number(turn):
            return
        if not turn.confident or (turn.pred.intent == "out_of_scope" and understanding.whole_report(turn)):
            if self._low_confidence(turn):
                turn.state.misses = 0
                return
            if self._miss(turn):
                return
            if len(turn.norm) <= 3 and not turn.state.last.get("intent"):
                # 脚痛: too short to guess from; the whole menu, a person among the choices
                turn.say("not_understood_short")
                turn.say("menu")
                return
            options = [i for i, _ in self.nlu.top_intents(turn.text[:500], k=6) if i in CHOICE_INTENTS]
            options = options[: int(self.copy.table("low_confidence_choices"))]
            if not options:
                turn.say("not_understood")
                turn.say("menu")
                return
            labels = [self.copy.table("intent_labels")[i] for i in options]
            turn.state.choice = {"kind": "intent", "options": options}
            turn.ask_choice("did_you_mean", labels)
            return
        turn.state.misses = 0
        if turn.state.frame is None and turn.pred.intent in ("product_question", "claim_materials") \
                and self._answer_questions(turn, self._question_topics(turn)) >= 2:
            return  # 赔几多钱？要准备乜材料？几耐可以拿到钱？: each question answered
        self._start_intent(turn, turn.pred.intent)

    def _low_confidence(self, turn: Turn) -> bool:
        """What an unsure reading can still answer: the case, a clear report, a product question,
        small talk, or facts added to what was told before."""
        if oneshots.case_answer(turn):
            notes = turn.state.notes
            told = notes.get("exclusions") or notes.get("hukou_other") or turn.cue("already_reported_words")
            if turn.state.frame is None and turn.asks and understanding.report_like(turn) and not told:
                self._offer_report(turn)  # 阿公跋倒住了5日 有住院津贴无: the sum, and the report offered
            return True
        if understanding.report_like(turn) and turn.pred.intent in ("claim_report", "product_question"):
            self._start_intent(turn, "claim_report")
            return True
        if turn.state.last.get("claim_change") and not turn.asks and turn.pred.intent != "claim_report":
            turn.say("ack")  # 伊讲伤得轻 门诊看看就好 after a withdrawal was recorded: why, nothing to do
            return True
        story = turn.noted & {"hospital", "date", "accident", "name", "phone", "death"}
        if not story and self._several_questions(turn):
            return True  # 要准备什么材料 多久能到账: unsure as a whole, each question clear
        if turn.pred.intent == "product_question" and turn.pred.faq_topic and turn.asks:
            oneshots.product_question(turn)
            return True
        if turn.pred.intent == "info_update" and turn.cue("update_words") and fields.update_fields(turn):
            self._start_intent(turn, "info_update")  # 留的电话…以后联系唔到，改成我的: a change, said plainly
            return True
        if understanding.small_talk(turn):
            turn.say("small_talk")
            return True
        notes = turn.state.notes
        told = turn.noted & {"hospital", "date", "accident", "name", "phone", "death"}
        if told and notes.get("description") and not (notes.get("mass") or notes.get("handoff")):
            if understanding.whole_report(turn):
                self._story_questions(turn)  # the whole report in one message, and questions: a report
                self._start_intent(turn, "claim_report")
                return True
            turn.say("noted")
            self._story_questions(turn)
            self._offer_report(turn)
            return True
        return False

    @staticmethod
    def _reported_before(turn: Turn) -> bool:
        """已经报过案 said now, or said before in this conversation and this message tells no new accident
        (今天出院了 住了12天 / 钱收到了…住了105天): about that claim, not a second report."""
        if turn.cue("already_reported_words"):
            return True
        slots = turn.pred.slots or {}
        return bool(turn.state.notes.get("reported_before")) and not slots.get("accident_type") \
            and not memory.died(turn) and turn.state.claim is None

    def _several_questions(self, turn: Turn) -> bool:
        """要什么材料 多久能赔 还能报吗: two or more questions in one message, each answered."""
        return turn.asks and self._answer_questions(turn, self._question_topics(turn)) >= 2

    def _story_questions(self, turn: Turn) -> None:
        """The questions at the end of a long story (请问要准备什么材料？住院津贴怎么算？): answered before
        the report is offered."""
        if len(turn.plain) >= 30:
            self._answer_questions(turn, self._question_topics(turn))

    def _question_topics(self, turn: Turn) -> list[str]:
        """The FAQ topic of each question of the message (the clause before each question mark), each
        read on its own; in order, without repeats."""
        topics: list[str] = []
        # 住院津贴能拿多少？要交什么材料 / 要什么材料 多久能赔 还能报吗: each question, and each clause
        # that asks after the last question mark
        plain = turn.plain
        parts = _RE_QUESTION_END.findall(plain)
        rest = plain[max(plain.rfind("?"), plain.rfind("？")) + 1:]
        parts += [p for p in _RE_SPACE_CLAUSE.split(rest) if _RE_ASKING.search(p)]
        if len(parts) < 2:
            return topics  # one question: the message's own reading answers it (no second reading)
        for part in parts[:4]:
            reading = self.nlu.predict(part[-60:], now=turn.now)
            cued = self.copy.groups_in("topic_cues", reading.normalized)  # 要交多少钱: the premium
            topic = cued[0] if cued else reading.faq_topic
            if topic and (cued or reading.faq_score >= _QUESTION_FAQ_SCORE) and topic not in topics:
                topics.append(str(topic))
        return topics

    @staticmethod
    def _answer_questions(turn: Turn, topics: list[str]) -> int:
        """Answer several topics at once (no follow-up offered); how many were answered (none for one:
        the usual path answers a single question better)."""
        if len(topics) < 2:
            return 0
        for topic in topics[:3]:
            if topic == "hospital_allowance" and amounts.answer(turn):
                continue  # 住了12天 … 住院津贴能拿多少: the sum itself
            if topic == "claim_materials":
                oneshots.claim_materials(turn)  # of the claim type the message names (去世 → 死亡证明)
            else:
                faq.answer_topic(turn, topic, follow_up=False)
        turn.log_slots["faq_topic"] = topics[0]
        # 十二月十号满60岁 … 几时开始有保: the day itself, after the answers
        cover_start.after_faq(turn, next((t for t in topics[:3] if t in cover_start.TOPICS), None))
        return len(topics[:3])

    def _ack(self, turn: Turn) -> bool:
        """"好啦", "好 这次别再忘了": an acknowledgement after an answer, not a new request."""
        norm = turn.norm.strip()
        starts = self.copy.starts_with_any("ack_words", norm)
        if not (turn.state.last.get("intent") and starts and not turn.asks and len(norm) <= 12):
            return False
        if turn.cue("await_call_words"):  # 好 等你们电话: after a request staff will call about
            turn.say("cc_wait")
            return True
        if turn.confident and turn.pred.intent not in ("affirm", "goodbye", "out_of_scope", "greeting",
                                                       "deny"):
            return False
        turn.say("goodbye" if turn.cue("thanks_words") else "ack")
        return True

    def _bare_number(self, turn: Turn) -> bool:
        """A message that is just an ID number, outside any flow: the enquiry it belongs to."""
        slots = turn.pred.slots or {}
        if not slots.get("id_number") or sum(ch.isdigit() for ch in turn.norm) < len(turn.norm.strip()) - 6:
            return False
        last = turn.state.last.get("intent")
        intent = last if last in ("claim_progress", "policy_lookup", "info_update") else None
        if intent is None:
            options = ["claim_progress", "policy_lookup", "claim_report"]
            turn.state.choice = {"kind": "intent", "options": options}
            turn.ask_choice("id_what_for", [self.copy.table("intent_labels")[i] for i in options])
            return True
        turn.pred = NoPrediction(intent=intent, confidence=1.0, slots=dict(slots))
        self._start_intent(turn, intent, chosen=True)
        return True

    def _report_fact(self, turn: Turn) -> bool:
        """A fact of a report (伊叫邱玉兰, a bare name, 我是伊的新妇) sent after a report was offered, or
        after an accident was told: the report starts with it, the fact kept."""
        choice = turn.choice_before or {}
        options = choice.get("options") or [] if choice.get("kind") == "intent" else []
        offered = options == ["claim_report"]
        after_accident = bool(turn.state.notes.get("description")) and turn.state.last.get("intent") in (
            "claim_report", "product_question")
        if not (offered or "claim_report" in options or after_accident) or turn.asks:
            return False
        if turn.confident and turn.pred.intent in ("complaint", "human_agent", "claim_progress", "cancel",
                                                          "policy_lookup"):
            return False
        bare = turn.norm.strip(" 。，,.!！啦啊")
        if turn.extract.is_name(bare):
            turn.keep_note_secret("name", bare)
            turn.noted.add("name")
        facts = {"name"} if not offered else {"name", "relation", "hospital", "date", "phone"}
        # after the offer, more of the accident (同大货车相撞，当场就走了) is the report starting too
        more = bool((turn.pred.slots or {}).get("accident_type")) or died(turn)
        if not (turn.noted & facts or (offered and more)):
            return False
        self._start_intent(turn, "claim_report", chosen=True)
        return True

    def _offer_report(self, turn: Turn) -> None:
        consent.hold_story_id(turn)  # an ID number in the story waits for the report and its consent
        turn.state.choice = {"kind": "intent", "options": ["claim_report"]}
        turn.say("offer_report")

    def _policy_question(self, turn: Turn) -> bool:
        """"我有没有保险" (no name, no ID): who is covered, in short, with the lookup as choice 1."""
        slots = turn.pred.slots or {}
        if slots.get("id_number") or turn.extract.name(turn.plain) or len(turn.norm) > 12 \
                or "查" in turn.norm:
            return False
        short = (self.copy.table("faq_short") or {}).get("eligibility")
        if not short:
            return False
        text = render_text(str(short), turn.services.catalog.raw_data(turn.product.id))
        turn.say("pl_general", short=text)
        turn.state.choice = {"kind": "intent", "options": ["policy_lookup"]}
        turn.log_slots["faq_topic"] = "eligibility"
        return True

    def _report_question(self, turn: Turn) -> bool:
        """A question about an accident rather than a report of one (住了一百天能领多少; 打架受伤能赔吗):
        answered, with the report offered as choice 1; False when the message is a report."""
        if turn.cue("report_request_words") and not turn.cue("hypothetical_words"):
            return False
        if self._reported_before(turn) and (turn.pred.slots or {}).get("days") and amounts.answer(turn):
            return True  # 钱收到了…住了105天 应该3150才对: the sum with its limits, no second report
        exclusions = turn.state.notes.get("exclusions") or []
        asks = turn.asks or bool(exclusions)
        if not asks or (understanding.personal(turn) and not exclusions):
            return False
        if not oneshots.case_answer(turn):
            return False
        if not (turn.cue("already_reported_words") or turn.state.notes.get("hukou_other")):
            # 阿妈报了案，顺便问… / 户口在普宁: the answer, and no report offered
            self._offer_report(turn)
        return True

