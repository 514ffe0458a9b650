"""Claim materials: the checklist questions, and pictures attached to a claim.

A picture sent during a report waits (its WeChat media id only, not private) until the claim exists.
Then, once the customer agreed to the use of medical records (D-04, asked before the first one),
each picture is recorded at once as a claim attachment (``backend.claims.attachments``: a download
job must fetch it before WeChat deletes it after 3 days, W-16), and the bot asks which checklist item
it is (numbered choices) and ticks it.

A voice message is kept the same way (W-16), while its recognition is still answered as text: sent
while the conversation has a claim, or while a report or an attachment question is under way, it
waits in ``pending_media`` (``kind: voice``) and is recorded as an attachment of the claim as soon as
the customer has agreed to the ``medical`` consent; no checklist question is asked about it, and the
consent question is not asked for voices alone (it waits for the one asked about pictures). A voice
with no claim in sight is not kept. Videos cannot be kept (WeChat hands out a video as a link, and MP4
is no content we check): the customer is told to send photos instead.

A picture for a claim named by its case number goes to that claim only when this WeChat user
reported it; anyone else must also give the insured's ID number (the same neutral "没有查到" for an
unknown number and a mismatch).
"""

from __future__ import annotations

import logging

from backend.claims.attachments import assign_material, attach_media
from backend.claims.models import Claim
from backend.claims.service import claim_for_enquiry, get_claim, mark_material
from backend.errors import ServiceError
from bot.dialogue import consent
from bot.dialogue.base import Flow, Outcome
from bot.dialogue.context import Turn
from bot.dialogue.fields import id_number_answer, reported_by_this_user
from bot.dialogue.parsing import claim_type_from_text
from bot.dialogue.state import FlowFrame

log = logging.getLogger(__name__)
VOICE = "voice"
VOICE_TYPE = "audio/amr"  # what WeChat sends; the fetch job sets the type found in the bytes
_COLLECTING = ("claim_report", "attach")  # flows whose pictures wait for the claim they belong to


def answer_question(turn: Turn, *, kind: str | None = None) -> None:
    """Which documents a claim needs (of the report under way, the claim reported, or the type
    named, else all types)."""
    product = turn.product
    kind = kind or (turn.state.claim or {}).get("claim_type") or claim_type_from_text(turn, turn.norm)
    kinds = [kind] if kind in product.claim_types else list(product.claim_types)
    notes = turn.state.notes
    if len(kinds) > 1 and notes.get("accident") and not notes.get("death"):  # hurt, alive: no death papers
        kinds = [k for k in kinds if k not in ("accidental_death", "transport_death")]
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


def for_claim(turn: Turn) -> bool:
    """True when what the customer sends now belongs to a claim: the conversation's claim, or the one
    a report or an attachment question under way is about."""
    frame = turn.state.frame
    return bool(turn.state.claim) or (frame is not None and frame.flow in _COLLECTING)


def on_voice(turn: Turn) -> None:
    """Keep a voice message sent for a claim (see the module doc); the turn goes on as a text turn."""
    media_id = turn.message.media_id
    if not media_id or not for_claim(turn):
        return
    turn.state.pending_media.append({"media_id": media_id, "kind": VOICE})
    frame = turn.state.frame
    if turn.state.claim and (frame is None or frame.flow != "claim_report"):
        keep_voices(turn)


def keep_voices(turn: Turn) -> None:
    """Record the waiting voices as attachments of the conversation's claim, once the customer agreed
    to the ``medical`` consent (never asked here); a voice that cannot be recorded is let go."""
    voices = [e for e in turn.state.pending_media if e.get("kind") == VOICE]
    if not voices or not turn.state.claim or not consent.granted(turn, "medical"):
        return
    claim = _claim(turn)
    if claim is None:
        return
    msg = turn.message
    for entry in voices:
        try:
            row = attach_media(turn.session, cipher=turn.services.cipher, claim_id=claim.id,
                               channel=msg.channel, media_id=entry["media_id"], content_type=VOICE_TYPE,
                               actor=f"bot:{msg.channel}", now=turn.now)
            turn.log_slots["voice_attachment_id"] = row.id
        except ServiceError as exc:
            log.info("voice not kept for claim %s: %s", claim.id, exc.code)
    turn.state.pending_media = [e for e in turn.state.pending_media if e.get("kind") != VOICE]


def start_attach(turn: Turn, media_id: str, *, case_no: str | None = None) -> None:
    """The customer says an earlier picture is a claim document (and maybe gives its case number)."""
    turn.state.pending_media.append({"media_id": media_id})
    if turn.state.claim:
        ask_pending(turn)
        return
    frame = FlowFrame(flow=AttachFlow.name, step="case_no")
    turn.state.frame = frame
    if case_no:
        AttachFlow().answer(turn, frame)
        return
    turn.say("mt_ask_case")


def ask_pending(turn: Turn) -> None:
    """Ask which checklist item the oldest waiting picture is (voices alone: kept, nothing asked)."""
    if not turn.state.pending_media or not turn.state.claim:
        return
    if all(e.get("kind") == VOICE for e in turn.state.pending_media):
        keep_voices(turn)
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


def _remember(turn: Turn, claim: Claim) -> None:
    turn.state.claim = {"id": claim.id, "case_no": claim.case_no, "claim_type": claim.claim_type}


class AttachFlow(Flow):
    """Which document is this picture? (numbered choices from the claim's checklist)."""

    name = "attach"

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        if frame.step == "case_no" and not turn.state.claim:
            turn.say("mt_ask_case")
            return
        if frame.step == "verify_id":
            turn.say("mt_ask_id")
            return
        claim = _claim(turn)
        if claim is None or not turn.state.pending_media:
            turn.state.pending_media = []
            self.finish(turn)
            return
        if not consent.granted(turn, "medical"):
            consent.ask(turn, frame, "medical")
            return
        if not self._attach_pending(turn, claim):
            return
        frame.step = "which"
        items = sorted(claim.materials, key=lambda m: (m.received, m.id))
        frame.data["options"] = [m.material_id for m in items]
        turn.ask_choice("mt_which", [m.label for m in items])

    def _attach_pending(self, turn: Turn, claim: Claim) -> bool:
        """Record every waiting picture (and voice) as an attachment of the claim at once (W-16);
        the voices need no checklist answer and leave the list."""
        msg = turn.message
        try:
            for entry in turn.state.pending_media:
                if "attachment_id" in entry or not entry.get("media_id"):
                    continue
                voice = entry.get("kind") == VOICE
                row = attach_media(turn.session, cipher=turn.services.cipher, claim_id=claim.id,
                                   channel=msg.channel, media_id=entry["media_id"],
                                   content_type=VOICE_TYPE if voice else "image/jpeg",
                                   actor=f"bot:{msg.channel}", now=turn.now)
                entry.clear()
                if not voice:
                    entry["attachment_id"] = str(row.id)
        except ServiceError as exc:
            turn.say("cr_failed", reason=exc.message + "。")
            turn.state.pending_media = []
            self.finish(turn)
            return False
        turn.state.pending_media = [e for e in turn.state.pending_media if e.get("attachment_id")]
        if not turn.state.pending_media:
            self.finish(turn)
            return False
        return True

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        if frame.step == "case_no":
            return self._case_no(turn, frame)
        if frame.step == "verify_id":
            return self._verify(turn, frame)
        if frame.step == "consent_medical":
            agreed = consent.answer(turn, "medical")
            if agreed is None:
                return "pass"
            if agreed:
                self.ask(turn, frame)
            else:
                consent.refused(turn, "medical")
                turn.state.pending_media = []
                self.finish(turn)
            return "ok"
        options = [str(o) for o in frame.data.get("options", [])]
        n = turn.digit(len(options))
        if n is None:
            return "pass"
        self._tick(turn, frame, options[n - 1])
        return "ok"

    def _case_no(self, turn: Turn, frame: FlowFrame) -> Outcome:
        case_no = turn.pred.slots.get("claim_no")
        if not case_no:
            if sum(ch.isdigit() for ch in turn.text) >= 6:
                turn.say("mt_case_not_found")
                return "invalid"
            return "pass"
        try:
            claim: Claim | None = get_claim(turn.session, case_no=str(case_no))
        except ServiceError:
            claim = None
        if claim is not None and reported_by_this_user(turn, claim):
            _remember(turn, claim)
        else:  # someone else's claim, or none: the same question either way
            frame.data["case_no"] = str(case_no)
            frame.step = "verify_id"
        self.ask(turn, frame)
        return "ok"

    def _verify(self, turn: Turn, frame: FlowFrame) -> Outcome:
        number = id_number_answer(turn)
        if number is None:
            return "pass"
        turn.private_values.append(number)
        try:
            claim = claim_for_enquiry(turn.session, cipher=turn.services.cipher,
                                      case_no=str(frame.data.get("case_no", "")), id_number=number)
        except ServiceError:
            turn.say("mt_case_not_found")
            turn.state.pending_media = []
            self.finish(turn)
            return "ok"
        _remember(turn, claim)
        frame.step = None
        self.ask(turn, frame)
        return "ok"

    def on_image(self, turn: Turn, frame: FlowFrame) -> bool:
        turn.state.pending_media.append({"media_id": turn.message.media_id or ""})
        self.ask(turn, frame)
        return True

    def _tick(self, turn: Turn, frame: FlowFrame, material_id: str) -> None:
        ref = turn.state.claim or {}
        entry = turn.state.pending_media.pop(0) if turn.state.pending_media else {}
        try:
            if entry.get("attachment_id"):
                assign_material(turn.session, attachment_id=int(entry["attachment_id"]),
                                material_id=material_id)
            claim = mark_material(turn.session, cipher=turn.services.cipher, claim_id=int(ref["id"]),
                                  material_id=material_id, received=True, actor=f"bot:{turn.message.channel}",
                                  now=turn.now, calendar=turn.services.calendar)
        except ServiceError as exc:
            turn.say("cr_failed", reason=exc.message + "。")
            turn.state.pending_media = []
            self.finish(turn)
            return
        turn.log_slots.update({"attachment_id": entry.get("attachment_id", ""), "claim_id": claim.id,
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
