"""The NLU's reading, corrected by what the words and the conversation say.

The statistical model reads one message; the dialogue knows more: an indirect complaint (a rude
visit, a broken promise, money late after the SMS said three days) is a complaint even without the
word 投诉; "我妈的理赔到哪一步了 …跋倒住院" asks for progress, not a new report; a message giving a
new phone number is an update; "叫你们的人来" asks for a visit; "要跟真人讲" asks for a person in
any length of message. The cue words live in ``config/dialogue.yaml``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from bot.dialogue import claim_change, cover_start, grievance
from bot.dialogue.context import Turn
from bot.dialogue.memory import died

_REPORT_SIDE = frozenset({"claim_report", "product_question", "out_of_scope", "claim_progress", "home_visit",
                          "info_update", "greeting", "affirm", "deny", "goodbye"})


def _set(turn: Turn, intent: str, topic: str | None = None) -> str:
    threshold = turn.services.threshold
    values = {"intent": intent, "confidence": max(turn.pred.confidence, threshold)}
    if topic is not None or intent != turn.pred.intent:
        values["faq_topic"] = topic
    turn.pred = dataclasses.replace(turn.pred, **values)  # type: ignore[type-var]
    return intent


_RE_LEAD_GREETING = re.compile(r"^\s*(?:阿姨你好|你好|您好|你们好|大家好|喂|hi|hello|嗨|哈喽)"
                               r"[\s,，.。!！~]*", re.I)
_AFTER_GREETING_MIN = 4
_SMALL_TALK = ("out_of_scope", "greeting")


def read_past_greeting(nlu: Any, turn: Turn, context: Any) -> Any:
    """The NLU's reading of the message; when it reads a greeting in front of more (你好 请问阮阿妈住院一日
    有几多钱) as small talk, the words after the greeting are read again and win when they are surely
    about something the bot does."""
    text = turn.text[:500]
    reading = nlu.predict(text, now=turn.now, context=context)
    lead = _RE_LEAD_GREETING.match(text) if reading.intent in _SMALL_TALK else None
    rest = text[lead.end():] if lead else ""
    if len(rest) < _AFTER_GREETING_MIN:
        return reading
    again = nlu.predict(rest, now=turn.now, context=context)
    sure = again.confidence >= turn.services.threshold and again.intent not in _SMALL_TALK
    return again if sure else reading


def refine(turn: Turn) -> str:
    """The intent to act on (``turn.pred`` is updated when the words overrule the model)."""
    intent = _refine(turn)
    frame = turn.state.frame
    if intent == "complaint" and frame is not None and frame.flow == "claim_report" \
            and grievance.told(turn, frame) and not grievance.explicit(turn) \
            and not grievance.about_a_claim(turn):
        turn.log_slots["grievance"] = True  # 打恁电话两日无人听, in a report: kept, the report goes on
        return _set(turn, "claim_report")
    return intent


def _refine(turn: Turn) -> str:
    intent = turn.pred.intent
    norm = turn.norm
    slots = turn.pred.slots or {}
    long = len(norm) >= 12
    if _RE_OUR_SMS.search(norm) and not turn.cue("pay_first_words") \
            and intent in _REPORT_SIDE | {"complaint"}:
        return _set(turn, "product_question", "progress_notice")  # 短信讲理赔进度 审核中 是唔是骗人的: ours
    if intent == "product_question" and turn.pred.faq_topic == "accident_death" \
            and turn.pred.faq_score < 0.5 and not turn.cue("death_words") \
            and not turn.state.notes.get("death"):
        return _set(turn, intent, "coverage_overview")  # 能赔多少 / how much can claim: every benefit
    if turn.cue("complaint_cue_words") and long and intent in _REPORT_SIDE | {"complaint", "claim_materials"}:
        return _set(turn, "complaint")
    if intent in _REPORT_SIDE | {"complaint", "claim_materials", "contact_info"} and (
            turn.cue("complaint_only_words") or norm.lstrip().startswith("投诉")):
        return _set(turn, "complaint")  # 我要投訴。… / 投诉！…: said in so many words, the model unsure
    if intent in _REPORT_SIDE | {"info_update", "cancel", "complaint"} and claim_change.wanted(turn) \
            and not (turn.cue("complaint_only_words") or turn.cue("angry_words")):
        return _set(turn, "info_update")  # 前几天帮我妈报案 日期报错了: a change to that claim, for staff
    if intent == "complaint" and turn.asks and turn.cue("materials_words") and not (
            turn.cue("complaint_only_words") or turn.cue("angry_words") or turn.cue("complaint_cue_words")):
        return _set(turn, "claim_materials")  # 你们的人叫我来这里问要准备乜材料: which documents
    scam = turn.cue("impostor_words") or turn.cue("pay_first_words")
    if scam and long and not turn.asks and intent in _REPORT_SIDE | {
            "complaint", "contact_info", "human_agent", "claim_materials"}:
        return _set(turn, "complaint")  # 有人说是你们公司的，挨家挨户收钱: a complaint, whatever the model
    if intent == "complaint" and _callback_for_visit(turn):
        return _set(turn, "home_visit")  # 你们打我电话 打伊电话伊听唔清楚: how to reach them about the visit
    if slots.get("id_number") and turn.cue("check_words") and (
            not turn.confident or turn.state.frame is None) and not turn.cue(
            "progress_words") and not slots.get("accident_type") and not slots.get("claim_no"):
        return _set(turn, "policy_lookup")  # 伊叫蔡永利，身份证…，同意你们查: whether he is covered
    if turn.cue("progress_words") and intent in ("claim_report", "product_question", "out_of_scope",
                                                 "claim_progress"):
        return _set(turn, "claim_progress")
    if turn.cue("report_voice_words") or (turn.cue("report_request_words") and not turn.confident
                                          and intent in ("greeting", "out_of_scope", "claim_report")):
        return _set(turn, "claim_report")  # 我要保安 / 报个按: voice input for 报案
    if turn.cue("update_words") and slots.get("phone") and intent in _REPORT_SIDE:
        return _set(turn, "info_update")
    if turn.cue("update_request_words") and intent in _REPORT_SIDE and (
            not report_like(turn) or turn.cue("object_hurt_words")):
        return _set(turn, "info_update")  # 阮阿姆搬去阿妹厝住了，以后有乜通知请打阿妹的电话
    if turn.cue("visit_words") and turn.asks and not turn.cue("visit_rule_words") and intent in _REPORT_SIDE:
        return _set(turn, "home_visit")  # 想申请理赔，但她去不了，可以派人到家里吗: the visit is the ask
    if (turn.cue("report_request_words") or turn.cue("what_now_words")) and long and report_like(turn) \
            and not turn.cue("already_reported_words") \
            and intent in ("greeting", "out_of_scope", "claim_report", "affirm", "product_question",
                           "claim_progress"):  # 阿妈乞狗咬着，这个还未报，先报这个: amid a progress question
        return _set(turn, "claim_report")  # …砸到他肩膀…叫我帮他报一下 / …没抢救过来…想问问怎么办
    visit = turn.cue("visit_words") and not turn.cue("visit_rule_words")
    after_rules = turn.state.last.get("topic") == "home_visit_service"  # the visit rules were just told
    visit = visit or (after_rules and (turn.cue("cannot_go_words") or bool(turn.extract.phones(norm))
                                       or bool(turn.extract.address(turn.plain))))  # 地址胪岗镇新庆村
    if visit and intent in _REPORT_SIDE | {"claim_materials", "contact_info"}:
        return _set(turn, "home_visit")
    notes = turn.state.notes
    last = turn.state.last
    about_stay = last.get("topic") == "hospital_allowance" or last.get("intent") == "claim_materials"
    if slots.get("days") and not slots.get("accident_type") and turn.state.frame is None and about_stay \
            and intent in ("claim_report", "out_of_scope", "greeting", "affirm"):
        return _set(turn, "product_question", "hospital_allowance")  # 津贴要交乜材料 … 住了8日: its sum
    if turn.cue("cover_start_words") and (notes.get("age_day") or notes.get("moved_in")) \
            and intent in _REPORT_SIDE and not turn.cue("progress_words"):
        return _set(turn, "product_question", "enrollment")  # 那我几时开始有: the day of this person's cover
    if cover_start.birthday_told(turn) and slots.get("date") and turn.state.frame is None:
        return _set(turn, "product_question", "eligibility")  # 我10月18号生日: when the cover starts
    age = slots.get("age")
    if intent == "claim_report" and isinstance(age, int) and 40 <= age < turn.product.eligibility.min_age \
            and slots.get("relation") == "self" and turn.state.frame is None:
        turn.log_slots["too_young"] = age  # 我今年59岁 昨天骑车跋倒: not insured yet, said before any report
        return _set(turn, "product_question", "eligibility")
    if turn.cue("report_request_words") and (notes.get("accident") or notes.get("description")) \
            and turn.state.frame is None and not turn.cue("already_reported_words") and intent in (
                "product_question", "out_of_scope", "greeting", "affirm", "claim_materials"):
        return _set(turn, "claim_report")  # 算了 唔报了 … 阮仔讲还是要报: the accident told before, reported
    if intent in ("out_of_scope", "greeting") and (not turn.confident or turn.cue("injury_words")) \
            and not turn.asks and slots.get("accident_type") and slots.get("relation") \
            and turn.state.frame is None:
        return _set(turn, "claim_report")  # 丈母娘…被黄蜂叮了 规个面肿起来: someone's accident, told
    if intent == "product_question" and report_like(turn) and personal(turn):
        return _set(turn, "claim_report")  # 我爸陈炳坤…坐大巴出事走了…电话… 赔几多: a report, and a question
    if turn.asks and turn.cue("timeline_words") and turn.cue("after_materials_words") and intent in (
            "claim_materials", "product_question", "claim_progress", "out_of_scope"):
        return _set(turn, "product_question", "claim_timeline")  # 补了材料之后多久有结果: when, not which
    topic = _topic_cue(turn)
    if topic is not None and intent in _REPORT_SIDE | {"claim_materials", "policy_lookup"} and turn.asks:
        return _set(turn, "product_question", topic)
    return intent


def _callback_for_visit(turn: Turn) -> bool:
    """"Call me, not her" while a home visit is talked about: a way to reach the family, no complaint."""
    if not turn.cue("callback_pref_words") or turn.cue("angry_words"):
        return False
    last = turn.state.last
    choice = turn.state.choice or {}
    return (turn.cue("visit_words") or last.get("intent") == "home_visit"
            or last.get("topic") == "home_visit_service" or "home_visit" in (choice.get("options") or []))


def _topic_cue(turn: Turn) -> str | None:
    topics = turn.copy.groups_in("topic_cues", turn.norm)
    return topics[0] if topics else None


# 是我自己受伤: who it was, in answer to the offer of a report
_RE_ME = re.compile(r"(?:就是|是|系)?(?:我自己|我本人|阮自己|阮本人|本人|自己)")
_RE_HOW_REPORT = re.compile(r"(?:怎么|怎样|如何|点样|做呢|要怎)(?:报|申请|办)"
                            r"(?!.{0,6}(?:材料|资料|证明|多久|几时))")
# 有人打电话给我阿妈: a story, not a request
# a progress SMS doubted (收到短信 讲理赔进度 材料审核中 是唔是骗人的): the notices every few working days
_RE_OUR_SMS = re.compile(r"短信.{0,20}(?:进度|审核|案件|理赔).{0,20}(?:骗|真的|假的|真假)")
_NOT_A_CALL_REQUEST = ("angry_words", "complaint_cue_words", "impostor_words", "pay_first_words")
_RE_CALLED_SOMEONE = re.compile(r"有人|打电话给我[阿老爸妈爷奶外]")
_RE_NOT_DONE = re.compile(r"没|未|无人|不打|唔打")  # 讲好打电话给我 到今天都没打: a complaint
_ANYONE_THERE = ("人呢", "有人吗", "有人无", "有人在吗", "有没有人")


def wants_person(turn: Turn) -> bool:
    """True when the customer asks for a person (转人工, 要跟真人讲, 我要找人讲)."""
    if turn.cue("no_person_words"):  # 唔使转人工，你帮我登记就好
        return False
    if turn.norm.strip(" ？?。.!！啊呀") in _ANYONE_THERE and not (turn.state.last or turn.state.frame):
        _set(turn, "greeting")  # 人呢 as the first word: "is anyone there?", answered by the bot
        return False
    frame = turn.state.frame
    if frame is not None and frame.step == "phone" and turn.extract.phones(turn.norm) \
            and not turn.cue("human_phrases"):
        return False  # 请回电话给我 131…: the number the flow asked for, not a person now
    short = len(turn.norm) <= 8
    explicit = (short and turn.cue("human_words")) or (
        (turn.cue("human_phrases") or turn.cue("person_now_words"))  # 不要跟我讲条款，叫人来
        and not (turn.cue("visit_words") and not turn.cue("human_words")))  # 有没有人可以上门: a visit
    if frame is not None and frame.flow == "complaint" and frame.step in ("content", "phone") \
            and not explicit:
        return False  # 我要有人负责 in a complaint: staff take it up anyway; the number is still asked
    for_visit = turn.cue("visit_words") and not turn.cue("human_words")  # 叫人来厝拿: a visit
    if frame is None and turn.cue("call_me_words") and not for_visit and not _RE_NOT_DONE.search(turn.norm) \
            and not _RE_CALLED_SOMEONE.search(turn.norm) and len(turn.norm) <= 30 and not any(
                turn.cue(k) for k in _NOT_A_CALL_REQUEST):
        return True  # 阮打字慢 / 你们能唔能打电话给我 用讲的: a person, who calls back
    return explicit or (turn.confident and turn.pred.intent == "human_agent" and not for_visit)


def personal(turn: Turn) -> bool:
    """True when the message gives a person's details (a name or a phone number): a report, not a
    question about the rules."""
    return bool(turn.extract.name(turn.plain)) or bool(turn.extract.phones(turn.norm))


def report_like(turn: Turn) -> bool:
    """True when the message tells an accident that happened to someone (a report, maybe with a
    question in it)."""
    slots = turn.pred.slots or {}
    told = bool(slots.get("accident_type")) or died(turn) or turn.cue("injury_words")
    return told and (bool(slots.get("date")) or personal(turn) or bool(slots.get("relation")))


def small_talk(turn: Turn) -> bool:
    """Chat that needs a friendly word, not a menu (你们食饭未)."""
    return turn.cue("smalltalk_words")


def whole_report(turn: Turn) -> bool:
    """True when one message tells most of a report (what happened, when, where, who, a number)."""
    told = turn.noted & {"hospital", "date", "accident", "name", "phone", "death", "relation"}
    return len(told) + bool((turn.pred.slots or {}).get("id_number")) >= 5


def plain_yes(turn: Turn) -> bool:
    """A short yes (对, 好的, 同意, 要) and nothing else."""
    norm = turn.norm.strip(" 。，,.!！~啦啊呀吧")
    return 0 < len(norm) <= 4 and (norm in turn.copy.words("yes_words") or norm in ("要", "好的", "要的"))


def offer_taken(turn: Turn, choice: dict[str, Any] | None) -> str | None:
    """The flow offered as choice 1 that this message starts without the 1 (a report or a complaint)."""
    if takes_report_offer(turn, choice):
        return "claim_report"
    return "complaint" if takes_complaint_offer(turn, choice) else None


def takes_complaint_offer(turn: Turn, choice: dict[str, Any] | None) -> bool:
    """True when a complaint was just offered ("请回复1：投诉") and the answer tells it instead of the 1
    (你们有人来厝里推销…): the model's first guess is a complaint, however unsure."""
    return bool(choice and choice.get("kind") == "intent" and choice.get("options") == ["complaint"]
                and turn.state.frame is None and turn.pred.intent == "complaint" and len(turn.norm) >= 10)


def takes_report_offer(turn: Turn, choice: dict[str, Any] | None) -> bool:
    """True when the report was just offered ("要报案，请回复1") and the answer is a report's fact
    instead of the 1 (是我父亲，马永强 / an ID number / a date): the report starts with it. A name
    said so is kept in the notes."""
    how = bool(_RE_HOW_REPORT.search(turn.norm))  # 无报过，要怎么报: the report offered, asked for
    if not choice or choice.get("kind") != "intent" or turn.state.frame is not None or (
            turn.asks and not how):
        return False
    options = choice.get("options") or []
    if options != ["claim_report"] and not ("claim_report" in options and turn.state.notes.get("accident")):
        return False  # a menu with the report in it, after an accident was told: 纪淑芬 is its answer
    name = turn.extract.name(turn.plain, whole=True)
    if name:
        turn.keep_note_secret("name", name)
    slots = turn.pred.slots or {}
    return bool(how or name or turn.noted & {"relation", "relation_told", "date", "hospital", "phone", "name"}
                or slots.get("id_number") or slots.get("relation") or _RE_ME.match(turn.plain.strip()))
