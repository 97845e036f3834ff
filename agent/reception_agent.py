"""The minimal reception `Agent`: greets, runs the triage guard on every caller turn, then lets the dialog answer."""

from __future__ import annotations

import asyncio
import logging

from livekit.agents import Agent, llm

import prompts
from agent.call_state import CallState
from agent.triage_guard import Triage, guard_turn

log = logging.getLogger(__name__)


def greeting_text(practice_name: str | None, lang: str = "fr") -> str:
    """The authored greeting naming the practice."""
    name = practice_name or prompts.text("practice_fallback_name", lang)
    return prompts.text("greeting", lang).replace("{practice}", name)


class ReceptionAgent(Agent):
    """Greets the caller; the triage guard sees every final transcript before the dialog does."""

    def __init__(self, *, call: CallState, triage: Triage, lang: str = "fr") -> None:
        super().__init__(instructions=prompts.text("acknowledge", lang))
        self._call = call
        self._triage = triage
        self._lang = lang

    async def on_enter(self) -> None:
        practice = self._call.practice.name if self._call.practice else None
        self.session.say(greeting_text(practice, self._lang))

    async def on_user_turn_completed(self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage) -> None:
        """The voice path's hook for final transcripts: guard first; an emergency never reaches the dialog."""
        text = new_message.text_content or ""
        result = await asyncio.to_thread(guard_turn, text, triage=self._triage, lang=self._lang,
                                         context=self._call.triage_context)
        stopped_at = (new_message.metrics or {}).get("stopped_speaking_at")
        self._call.caller_turn(text, confidence=new_message.transcript_confidence, stopped_at=stopped_at,
                               guard=result)
        if result.say is not None:
            log.info("triage guard took the turn", extra={"call_id": self._call.call_id, "level": result.level})
            self.session.say(result.say, allow_interruptions=False)
            raise llm.StopResponse()
