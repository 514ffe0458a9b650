"""The previous turn as context for reading a follow-up message (那住院呢, 坐车出事呢, 那我妈呢 她五十八).

The dialogue passes what it knew after the previous turn::

    ctx = Context(intent="product_question", faq_topic="accident_death")
    nlu.predict("那住院呢", now=now, context=ctx)   # product_question / hospital_allowance

A message is read as a follow-up when it is elliptical: it opens with 那/那么/还有/要是…, or ends with
呢, or is very short. The previous intent then acts as a prior: its probability is multiplied by
``STRONG_BOOST`` (marked follow-up) or ``WEAK_BOOST`` (short message), out_of_scope's by ``OOS_DAMP``
(a marked follow-up continues the conversation), and they are renormalised, so strong evidence in the
text still wins (那算了 stays cancel). A bare follow-up takes the previous intent: it has no content
of its own (还有呢, 那呢), or, marked, only changes whom it is about (那我妈呢 她58: the caller
passes the message without its persons and ages, ``SlotExtractor.without_people``). A follow-up
that names a new topic clearly (住院) moves to it; one that names none (那我妈呢, 还有呢) keeps the
previous topic; the follow-up of a turn that had a topic gets one.
``expects`` names the intents the current flow step waits for (a confirmation: affirm, deny, cancel);
they get ``WEAK_BOOST`` for short messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

STRONG_BOOST = 30.0
WEAK_BOOST = 2.5
OOS_DAMP = 0.25
TOPIC_BOOST = 4.0
TEXT_TOPIC_SHARE = 0.6
SHORT_CHARS = 6  # a message of at most this many characters (punctuation and spaces excluded) is short
OUT_OF_SCOPE = "out_of_scope"
_RE_MARKED = re.compile(r"^(?:那|那么|那要是|那如果|还有|另外|再问一下|如果是|要是|假如是|换成|换了)"
                        r"|呢\s*[?]?\s*$|咧\s*$")
_RE_NOISE = re.compile(r"[\s,.;:!?~、，。；：！？…]+")
# what is left of a bare follow-up once its markers are gone: nothing
_RE_BARE = re.compile(r"^(?:那|那么|然后|还有|另外|那还有|其他|别的|其它|的)*(?:呢|吗|咧|嘞|啊|哩)*$")


class FollowUp(Enum):
    """How a message was read against its context."""

    NONE = "none"        # no context given, or the message stands on its own
    SHORT = "short"      # a very short message: the context is a mild prior
    MARKED = "marked"    # an elliptical follow-up (那…呢): the context is a strong prior
    BARE = "bare"        # a follow-up with no content of its own (还有呢, 那我妈呢): the previous intent


@dataclass(frozen=True)
class Context:
    """What the dialogue knew after the previous turn."""

    intent: str | None = None
    faq_topic: str | None = None
    expects: tuple[str, ...] = ()
    flow_step: str | None = None  # the dialogue's own name for the step (informational, kept for logs)

    def follow_up_kind(self, norm: str, without_people: str | None = None) -> FollowUp:
        """How strongly the normalized message *norm* leans on this context; *without_people* is *norm*
        without the persons and ages it names (a marked follow-up with nothing else is bare)."""
        if self.intent is None and self.faq_topic is None and not self.expects:
            return FollowUp.NONE
        bare = _RE_NOISE.sub("", norm)
        if self.intent is not None and _RE_BARE.match(bare):
            return FollowUp.BARE
        if _RE_MARKED.search(norm):
            if (self.intent is not None and without_people is not None
                    and _RE_BARE.match(_RE_NOISE.sub("", without_people))):
                return FollowUp.BARE
            return FollowUp.MARKED
        if len(bare) <= SHORT_CHARS:
            return FollowUp.SHORT
        return FollowUp.NONE

    def reweigh_intents(self, classes: list[str], probs: list[float], kind: FollowUp) -> list[float]:
        """Intent probabilities with the previous intent (and the expected ones) favoured; a bare
        follow-up takes the previous intent."""
        if kind is FollowUp.BARE and self.intent in classes:
            return [1.0 if c == self.intent else 0.0 for c in classes]
        boost = STRONG_BOOST if kind is FollowUp.MARKED else WEAK_BOOST
        weights = [1.0] * len(classes)
        for i, c in enumerate(classes):
            if c == self.intent:
                weights[i] *= boost
            if c in self.expects:
                weights[i] *= WEAK_BOOST
            if c == OUT_OF_SCOPE and kind is FollowUp.MARKED:
                weights[i] *= OOS_DAMP
        return _renormalise([p * w for p, w in zip(probs, weights, strict=True)])

    def reweigh_topics(self, classes: list[str], probs: list[float], kind: FollowUp) -> list[float]:
        """FAQ topic probabilities for a follow-up. When the text names a topic clearly (its best topic
        has at least ``TEXT_TOPIC_SHARE`` of the topic probability: 那住院呢) that topic stays; otherwise
        (还有呢, 那我妈呢) the previous topic is ranked first. Short messages: the previous topic gets
        ``TOPIC_BOOST``."""
        if self.faq_topic is None or self.faq_topic not in classes:
            return probs
        ctx = classes.index(self.faq_topic)
        if kind is FollowUp.SHORT:
            return _renormalise([p * (TOPIC_BOOST if i == ctx else 1.0) for i, p in enumerate(probs)])
        topic_probs = [p for c, p in zip(classes, probs, strict=True) if not c.startswith("_")]
        total = sum(topic_probs)
        best = max(topic_probs, default=0.0)
        if kind is FollowUp.MARKED and total > 0 and best / total >= TEXT_TOPIC_SHARE:
            return probs
        out = list(probs)
        out[ctx] += best
        return _renormalise(out)


def _renormalise(xs: list[float]) -> list[float]:
    total = sum(xs)
    return [x / total for x in xs] if total > 0 else xs
