"""The shape of a dialogue flow: start, answer the pending question, re-ask it."""

from __future__ import annotations

from typing import Literal

from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame

# ok: the message answered the pending question; pass: it is about something else;
# invalid: it tried to answer but the value is wrong (the flow already said why).
Outcome = Literal["ok", "pass", "invalid"]


class Flow:
    """A multi-step conversation (claim report, complaint...). Subclasses override the hooks."""

    name = ""

    def start(self, turn: Turn, frame: FlowFrame) -> None:
        """Begin: take what the first message already says, then ask the first missing thing."""
        self.prefill(turn, frame)
        self.ask(turn, frame)

    def prefill(self, turn: Turn, frame: FlowFrame) -> None:
        """Take slots from the message that started the flow."""

    def answer(self, turn: Turn, frame: FlowFrame) -> Outcome:
        """Handle a text message while the flow waits for an answer."""
        raise NotImplementedError

    def ask(self, turn: Turn, frame: FlowFrame) -> None:
        """(Re-)ask the pending question, or finish when nothing is missing."""
        raise NotImplementedError

    def remind(self, turn: Turn, frame: FlowFrame) -> None:
        """Ask the pending question again after an aside (a shorter form where there is one)."""
        self.ask(turn, frame)

    def on_location(self, turn: Turn, frame: FlowFrame) -> bool:
        """Use a location message; False when the flow has no use for it."""
        return False

    def on_image(self, turn: Turn, frame: FlowFrame) -> bool:
        """Use an image message; False when the flow has no use for it."""
        return False

    @staticmethod
    def finish(turn: Turn) -> None:
        """End the flow (the engine resumes a suspended one)."""
        turn.state.frame = None
