"""Answers given in one message: product questions (with the sum when one is asked, and what the
conversation already told: an exclusion, a household registration elsewhere), small talk, a "wait",
a "I don't understand your answer" (said shorter, not the same block again), non-text messages.
"""

from __future__ import annotations

from bot.dialogue import amounts, cover_start, faq, handoff, materials, understanding
from bot.dialogue.context import Turn
from bot.dialogue.memory import died
from bot.dialogue.parsing import claim_type_from_text
from intents.faq import render_text

# the claim whose documents a customer asks for right after a sum (``amounts``: what it was about)
_AMOUNT_CLAIM_TYPES = {"disability": "disability", "allowance": "hospital_allowance",
                       "year_left": "hospital_allowance", "transport": "transport_death"}


def product_question(turn: Turn, *, follow_up: bool = True) -> None:
    """Answer a question about the insurance, from what it asks and what the conversation told."""
    if case_answer(turn):
        return
    topic = turn.pred.faq_topic or faq.DEFAULT_TOPIC
    last = turn.state.last
    if last.get("topic") == topic and last.get("intent") == "product_question" and say_short(turn, topic):
        return
    faq.answer(turn, follow_up=follow_up)
    cover_start.after_faq(turn, topic)


def case_answer(turn: Turn) -> bool:
    """The answers that depend on this customer's case (said earlier or now); False when none does."""
    notes = turn.state.notes
    if cover_start.birthday_answer(turn):
        return True
    if notes.get("hukou_other") and turn.cue("move_in_words"):  # 那我把伊户口迁过来以后呢: next month
        turn.say("cov_after_move", district=turn.product.region.district,
                 age=turn.product.eligibility.min_age)
        return True
    if notes.get("hukou_other") and turn.cue("elsewhere_words"):
        turn.say("elig_elsewhere", place=notes["hukou_other"])
        return True  # 那阮去哪里问: where to ask, before why it is not here
    if notes.get("hukou_other") and (turn.cue("why_words") or turn.pred.faq_topic in (
            "eligibility", "coverage_overview", "enrollment") or turn.cue("coverage_words")):
        key = "elig_other_why" if turn.cue("why_words") else (
            "elig_other_again" if turn.state.last.get("elig_other") else "elig_other")
        turn.say(key, place=notes["hukou_other"], district=turn.product.region.district,
                 age=turn.product.eligibility.min_age)
        turn.state.last["elig_other"] = True
        return True
    age = (turn.pred.slots or {}).get("age")
    min_age = turn.product.eligibility.min_age
    if isinstance(age, int) and 0 < age < min_age and (turn.asks or len(turn.norm) <= 12
                                                         or turn.log_slots.get("too_young")):
        turn.say("elig_too_young", age=age, min_age=min_age, district=turn.product.region.district)
        return True  # 那我妈呢 她五十八: the age decides, whatever the topic before
    asks_cover = turn.asks or turn.cue("coverage_words")
    if turn.cue("turn_age_words") and asks_cover and cover_start.start(turn) is None:
        turn.say("cov_turned_age", age=min_age, district=turn.product.region.district)
        return True  # 阿爸上个月才满60岁，伊现在有无在这个保险里: from the month after the birthday
    short = len(turn.norm) <= 12 and "呢" in turn.norm  # 那我阿妈呢 伊六十一
    inside = "hukou_inside" in turn.noted and len(turn.norm) <= 20 and not turn.cue("turn_age_words")
    if isinstance(age, int) and min_age <= age <= 120 and (short or inside):  # 户口在潮南井都 今年83岁
        turn.say("elig_old_enough", age=age, district=turn.product.region.district)
        return True  # 那我阿妈呢 伊六十一: old enough; the household registration decides
    if turn.cue("e_ticket_words"):
        turn.say("e_ticket")
        return True
    if cover_start.accident_question(turn):
        return True
    exclusions = notes.get("exclusions") or []
    if turn.cue("dispute_words") and (exclusions or notes.get("death")):
        turn.say("excl_dispute" if exclusions else "death_review_short")
        return True
    talks = turn.cue("coverage_words") or turn.cue("victim_words") or "exclusion_talk" in turn.noted
    if exclusions and talks:
        said = turn.state.last.get("exclusion_said")
        last = notes.get("exclusion_last")
        kind = last if last in exclusions else exclusions[0]
        condoled = turn.state.last.get("condoled")
        if (kind == "sudden_death" or died(turn)) and said is None and not condoled:
            turn.say("condolence")  # 心脏病发走了 / 饮醉跋落水沟 人无了: sorrow first, then why not paid
            turn.state.last["condoled"] = True
        if turn.cue("victim_words") and kind == "fight":
            turn.say("excl_fight_victim")
        else:
            turn.say(f"excl_{kind}_short" if said == kind else f"excl_{kind}")
        turn.state.last["exclusion_said"] = kind
        return True
    days = (turn.pred.slots or {}).get("days")
    if days and turn.pred.faq_topic == "hospital_allowance" and not turn.asks:
        return amounts.stay_sum(turn, int(days))  # 伊已经出院了 住了8日, after the allowance was talked of
    if amounts.answer(turn):
        return True
    ha = turn.product.benefits.hospital_allowance
    injured = bool(notes.get("accident") or notes.get("description")) and not notes.get("death")
    if turn.cue("no_stay_words") and injured and not turn.state.last.get("no_stay_said"):
        turn.say("cov_no_stay", per_day=ha.per_day_yuan, requirement=ha.hospital_requirement)
        turn.state.last["no_stay_said"] = True
        return True
    if turn.cue("coverage_words") and injured and not notes.get("stay"):
        turn.say("cov_injury", per_day=ha.per_day_yuan, requirement=ha.hospital_requirement)
        return True
    return False


def lookup_followup(turn: Turn) -> bool:
    """After a lookup found nothing: what to do now; after a policy lookup, what it means and when
    the cover starts."""
    if turn.state.last.get("progress_not_found") and turn.cue("what_now_words"):
        turn.say("cp_next")
        return True
    if not turn.state.last.get("lookup_not_found"):
        return False
    if turn.cue("what_now_words"):
        turn.say("pl_next")
        return True
    age = turn.product.eligibility.min_age
    if turn.cue("before_cover_words") or (turn.cue("coverage_words") and "之前" in turn.norm):
        turn.say("pl_before_cover", age=age)
        return True
    if turn.cue("not_found_question_words"):
        turn.say("pl_explain", age=age)
        return True
    return False


def say_short(turn: Turn, topic: str) -> bool:
    """The short form of a topic's answer (for a customer who did not follow the long one)."""
    short = (turn.copy.table("faq_short") or {}).get(topic)
    if not short:
        return False
    turn.say_text(render_text(str(short), turn.services.catalog.raw_data(turn.product.id)))
    turn.say("ask_unclear")
    return True


def unclear(turn: Turn) -> None:
    """The customer did not understand the last answer: say it shorter, or ask what is unclear."""
    topic = turn.state.last.get("topic")
    if not (topic and say_short(turn, str(topic))):
        turn.say("too_long")


def claim_materials(turn: Turn) -> None:
    """Which documents: of the report under way, of the claim just reported, or of the type named."""
    frame = turn.state.frame or turn.state.suspended
    kind = frame.data.get("claim_type") if frame is not None and frame.flow == "claim_report" else None
    if kind is None and not claim_type_from_text(turn, turn.norm):  # 七级赔1200 … 还要交乜材料: that claim's
        kind = _AMOUNT_CLAIM_TYPES.get(str((turn.state.last.get("amount") or {}).get("kind")))
    if kind is None and turn.cue("bank_card_words") and turn.state.claim:
        turn.say("bank_card_how")
        return
    materials.answer_question(turn, kind=kind)


def out_of_scope(turn: Turn) -> None:
    """Not about the insurance: a case number or case words answered, small talk, else the menu once."""
    if case_answer(turn):
        return
    if understanding.small_talk(turn):
        turn.say("small_talk")
    elif turn.cue("tell_words") and not turn.asks:  # 想向你们反映一个情况: what it is, first
        turn.say("tell_more")
    elif turn.state.last.get("intent") and _says_who_i_am(turn):  # 我是伊大儿子 after a request: noted
        turn.say("ack")
    elif turn.state.last.get("intent"):  # a conversation under way: no menu again
        turn.say("out_of_scope_short", product=turn.product.short_name)
    elif len(turn.norm) <= 3:  # 脚痛, 跋倒: too short to tell; the choices, with a person among them
        turn.say("not_understood_short")
        turn.say("menu")
    else:
        turn.say("out_of_scope", product=turn.product.short_name)
        turn.say("menu")


def _says_who_i_am(turn: Turn) -> bool:
    """我是伊大儿子 / 我系伊孙: the writer says who they are to the old person, nothing more."""
    norm = turn.norm
    return bool((turn.pred.slots or {}).get("relation")) and len(norm) <= 8 and not turn.asks \
        and norm.startswith(("我是", "我系", "阮是", "阮系"))


def other_product(turn: Turn) -> bool:
    """住院医疗险 12月10号到期 / then 要续保吗: one of the insurer's ordinary health products, not this
    scheme: its service standards, and a person who can look the policy up. True when answered."""
    last = turn.state.last
    if not (turn.cue("other_product_words") or (last.get("other_product")
                                                 and turn.cue("other_product_followup_words"))):
        return False
    std = turn.product.service_standards
    told = last.get("other_product") and not turn.cue("other_product_words")
    key = "other_product_when" if turn.cue("when_words") else "other_product_more"
    key = key if told else "other_product"
    turn.say(key, hours=std.other_enquiry_answer_hours, renewal=std.renewal_reminder_days,
             days=std.policy_change_working_days)
    if not last.get("other_product"):
        handoff.hand_off(turn, "asked")
    last["other_product"] = True
    return True
