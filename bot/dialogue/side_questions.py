"""Questions asked beside an answer inside a report ("伊叫陈炳坤，住院一日几多钱"; "在两英医院。还有要准备
乜材料？"): the report takes the answer, and the question gets its answer too, before the next question of
the report, so a customer who mixes the two is never left without one."""

from __future__ import annotations

from bot.dialogue import amounts, faq, oneshots
from bot.dialogue.context import Turn

_FACTS = frozenset({"name", "phone", "hospital", "date", "relation", "relation_told", "accident",
                    "id_number"})
_SURE = 0.6  # the FAQ topic's score: a question that clearly is that topic
_SURE_WITH_SUM = 0.5  # the same, when the question names a sum


def answer(turn: Turn) -> bool:
    """Answer the question of a message that also gave the report a fact; True when one was answered."""
    if not turn.asks or not (turn.noted & _FACTS or (turn.pred.slots or {}).get("id_number")):
        return False
    if turn.cue("consent_why_words"):
        return False  # 做乜要身份证: the consent's own answer deals with it
    if amounts.answer(turn):
        return True
    if turn.cue("amount_words") and ("住院" in turn.norm or turn.cue("allowance_words")):
        faq.answer_topic(turn, "hospital_allowance", follow_up=False)  # 住院一日几多钱: the rate and caps
        return True
    # 要准备乜材料 / 材料做呢交: which documents and how to hand them in
    if turn.cue("materials_words") or (turn.confident and turn.pred.intent == "claim_materials"):
        oneshots.claim_materials(turn)
        return True
    topic = turn.pred.faq_topic
    # 交通事故可以赔三万，系唔系: a sum named makes a less sure topic enough (that sum's rule)
    named_sum = bool((turn.pred.slots or {}).get("amount")) and turn.pred.faq_score >= _SURE_WITH_SUM
    if turn.pred.intent == "product_question" and topic and (turn.pred.faq_score >= _SURE or named_sum):
        faq.answer_topic(turn, str(topic), follow_up=False)
        return True
    return False
