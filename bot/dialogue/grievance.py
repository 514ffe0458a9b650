"""A grievance told in the middle of a claim report (打恁电话打了两日都无人听 / 那个人讲最多只赔三千):
the family is apologised to, the words are kept with the report, and the report goes on; once the
claim is filed, the grievance is filed as a complaint with the report's phone and case number (the
24-hour and 15-working-day limits told), and a person is asked for when the customer wants someone in
charge or names the regulator. Nothing the report still needs is swallowed by a complaint's own
questions. A customer who says 我要投诉 in so many words gets the complaint flow itself.
"""

from __future__ import annotations

from backend.complaints.service import file_complaint
from backend.errors import ServiceError
from backend.security.masking import scrub_text
from bot.dialogue import handoff
from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame

_MAX = 1000


def explicit(turn: Turn) -> bool:
    """True when the customer asks for a complaint in so many words (我要投诉 / 投诉！…)."""
    return turn.cue("complaint_only_words") or turn.norm.lstrip().startswith("投诉")


_CLAIM_WORDS = ("钱", "赔款", "材料", "资料", "审核", "案件")


_NOT_AT = ("consent_id_number", "id_number", "confirm", "fix")
_MIN_CHARS = 8


def told(turn: Turn, frame: FlowFrame) -> bool:
    """True when a complaint read in the report is surely a grievance against the service told in a
    sentence, not a worry about giving the ID (网上骗子多 唔放心发身份证), swindlers, or a short answer
    at the confirmation (其他都对)."""
    return (frame.step not in _NOT_AT and turn.confident and len(turn.norm) >= _MIN_CHARS
            and "骗" not in turn.norm and not turn.cue("impostor_words"))


def about_a_claim(turn: Turn) -> bool:
    """True when the grievance is about a claim under way or its money and papers (讲一个礼拜就有钱 /
    把资料卖出去了): a complaint of its own, not a remark beside this report."""
    return bool(turn.state.notes.get("reported_before")) or turn.cue("already_reported_words") or any(
        w in turn.norm for w in _CLAIM_WORDS)


def noted(turn: Turn, frame: FlowFrame) -> bool:
    """Keep this message's grievance with the report (read so by the understanding); True if it was."""
    if not turn.log_slots.pop("grievance", False):
        return False
    text = scrub_text(turn.text[:_MAX], private_values=turn.private_values)
    frame.data["grievance"] = (str(frame.data.get("grievance", "")) + "\n" + text).strip()[-_MAX:]
    if turn.cue("angry_words") or turn.cue("escalation_words"):
        frame.data["grievance_person"] = True
    turn.say("cr_grievance_noted")
    return True


def file_with_claim(turn: Turn, frame: FlowFrame, case_no: str, phone: str) -> None:
    """File the grievance kept with the report as a complaint about that claim."""
    content = str(frame.data.get("grievance") or "")
    if not content:
        return
    svc = turn.services
    person = bool(frame.data.get("grievance_person"))
    try:
        c = file_complaint(
            turn.session, cipher=svc.cipher, catalog=svc.catalog, calendar=svc.calendar,
            category="other", severity="serious" if person else "normal", channel=turn.message.channel,
            complainant_name=None, contact_phone=phone, content=content, actor=f"bot:{turn.message.channel}",
            product_id=turn.product.id, related_case_no=case_no, openid=turn.message.user_id, now=turn.now,
        )
    except ServiceError:
        handoff.hand_off(turn, "angry")  # not filed: a person takes the grievance up
        return
    std = turn.product.service_standards
    turn.log_slots["complaint_no"] = c.complaint_no
    turn.say("cc_done", number=c.complaint_no, ack_hours=std.complaint_ack_hours,
             days=std.complaint_resolution_working_days)
    if person:
        handoff.hand_off(turn, "angry", quiet=True)
        turn.say("cc_person")
