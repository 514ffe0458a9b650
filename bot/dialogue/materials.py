"""Claim materials: the checklist questions, and pictures attached to a claim.

A picture sent during or after a report is attached to the claim: the bot asks which checklist item
it is (numbered choices), ticks it, and keeps the WeChat media id in the turn log for the download
job (media ids expire after 3 days, catalogue W-16).
"""

from __future__ import annotations

from backend.claims.models import Claim
from backend.claims.service import get_claim, mark_material
from backend.errors import ServiceError
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.parsing import claim_type_from_text
from bot.dialogue.state import FlowFrame


def answer_question(turn: Turn) -> None:
    """Which documents a claim needs (of the claim under way or named, else all types)."""
    product = turn.product
    kind = (turn.state.claim or {}).get("claim_type") or claim_type_from_text(turn, turn.text)
    kinds = [kind] if kind in product.claim_types else list(product.claim_types)
    parts = []
    for k in kinds:
        labels = [m.label for m in product.materials_for(k)]
        parts.append(turn.copy.t("mt_list", label=product.claim_types[k].label) + "、".join(labels))
    turn.say_text("\n".join(parts))
    channels = (product.model_extra or {}).get("material_channels") or []
    if channels:
        turn.say("mt_channels", channels="；".join(str(c) for c in channels))


def on_image(turn: Turn) -> bool:
    """Attach a picture to the conversation's claim; False when there is no claim to attach to."""
    if not turn.state.claim or turn.state.frame is not None:
        return False
    turn.state.pending_media.append({"media_id": turn.message.media_id or ""})
    ask_pending(turn)
    return True


def start_attach(turn: Turn, media_id: str) -> None:
    """The customer says an earlier picture is a claim document."""
    turn.state.pending_media.append({"media_id": media_id})
    if turn.state.claim:
        ask_pending(turn)
        return
    frame = FlowFrame(flow=AttachFlow.name, step="case_no")
    turn.state.frame = frame
    turn.say("mt_ask_case")


def ask_pending(turn: Turn) -> None:
    """Ask which checklist item the oldest waiting picture is."""
    if not turn.state.pending_media or not turn.state.claim:
        return
    frame = turn.state.frame
    if frame is None or frame.flow != AttachFlow.name:
        frame = FlowFrame(flow=AttachFlow.name)
        turn.state.frame = frame
    AttachFlow().ask(turn, frame)


def _claim(turn: Turn) -> Claim | None:
    ref = turn.state.claim
    if not ref:
        return None
    try:
        return get_claim(turn.session, claim_id=int(ref["id"]))
    except ServiceError:
        return None


class AttachFlow(Flow):
    """Which document is this picture? (numbered choices from the claim's checklist)."""

    name = "attach"

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.step == "case_no" and not turn.state.claim:
            turn.say("mt_ask_case")
            return
        claim = _claim(turn)
        if claim is None or not turn.state.pending_media:
            turn.state.pending_media = []
            self.finish(turn)
            return
        frame.step = "which"
        items = sorted(claim.materials, key=lambda m: (m.received, m.id))
        frame.data["options"] = [m.material_id for m in items]
        turn.ask_choice("mt_which", [m.label for m in items])

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if frame.step == "case_no":
            case_no = turn.pred.slots.get("claim_no")
            if not case_no:
                if sum(ch.isdigit() for ch in turn.text) >= 6:
                    turn.say("mt_case_not_found")
                    return "invalid"
                return "pass"
            try:
                claim = get_claim(turn.session, case_no=str(case_no))
            except ServiceError:
                turn.say("mt_case_not_found")
                return "invalid"
            turn.state.claim = {"id": claim.id, "case_no": claim.case_no, "claim_type": claim.claim_type}
            self.ask(turn, frame)
            return "ok"
        options = [str(o) for o in frame.data.get("options", [])]
        n = turn.digit(len(options))
        if n is None:
            return "pass"
        self._tick(turn, frame, options[n - 1])
        return "ok"

    def on_image(self, turn: Turn, frame: FlowFrame) -> bool:
        turn.state.pending_media.append({"media_id": turn.message.media_id or ""})
        self.ask(turn, frame)
        return True

    def _tick(self, turn: Turn, frame: FlowFrame, material_id: str) -> None:
        ref = turn.state.claim or {}
        media = turn.state.pending_media.pop(0) if turn.state.pending_media else {}
        try:
            claim = mark_material(turn.session, claim_id=int(ref["id"]), material_id=material_id,
                                  received=True, actor=f"bot:{turn.message.channel}", now=turn.now,
                                  calendar=turn.engine.calendar)
        except ServiceError as exc:
            turn.say("cr_failed", reason=exc.message + "。")
            turn.state.pending_media = []
            self.finish(turn)
            return
        turn.log_slots.update({"media_id": media.get("media_id", ""), "claim_id": claim.id,
                               "material_id": material_id})
        label = next(m.label for m in claim.materials if m.material_id == material_id)
        turn.say("mt_ticked", label=label)
        if turn.state.pending_media:
            self.ask(turn, frame)
            return
        missing = [m.label for m in claim.materials if not m.received]
        if missing:
            turn.say("mt_remaining", items="、".join(missing))
        else:
            turn.say("mt_complete")
        self.finish(turn)
