"""The reception `Agent`: greets, runs the triage guard on every caller turn, then the dialog with its tools."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from livekit.agents import Agent, llm
from sqlalchemy.engine import Engine

import prompts
from agent.call_state import CallState
from agent.dialog.datetime_fr import DateTimeParser, default_parser
from agent.dialog.engine import DialogEngine
from agent.dialog.flows.nlu import Reader
from agent.dialog.flows.opening import greeting
from agent.dialog.flows.router import Conversation
from agent.dialog.intents import IntentClassifier, default_classifier
from agent.tools import actions
from agent.tools.context import CallContext, TicketSink, utc_clock
from agent.tools.practice_profile import load_profile
from agent.tools.reception_tools import ReceptionTools
from agent.triage_guard import GuardResult, Triage, guard_turn, handoff_reason
from escalation.thresholds import Thresholds
from escalation.triggers import CallMonitor
from practice.calendar import Calendar, SqlCalendar

log = logging.getLogger(__name__)


def greeting_text(practice_name: str | None, lang: str = "fr") -> str:
    """The authored greeting naming the practice (without a practice context)."""
    name = practice_name or prompts.text("practice_fallback_name", lang)
    return prompts.text("greeting", lang).format(practice=name)


@dataclass
class Reception:
    """One call's tools context and dialog engine."""

    ctx: CallContext
    engine: DialogEngine
    dialog: llm.LLM[Any] | None = None  # the call's LLM when not the engine alone (agent.llm_choice)

    @property
    def active_llm(self) -> llm.LLM[Any]:
        return self.dialog or self.engine


@dataclass
class ReceptionServices:
    """The process-wide services of the reception dialog, built once by the composition root."""

    db: Engine
    tickets: TicketSink
    # the practice's active escalation thresholds (the composition root reads the manager's configuration)
    thresholds_for: Callable[[int], Thresholds] = lambda _practice_id: Thresholds()
    clock: Callable[[], datetime] = utc_clock
    classifier: IntentClassifier | None = None
    parser: DateTimeParser | None = None
    make_calendar: Callable[[Engine], Calendar] = SqlCalendar
    # a remote LLM in front of the engine (agent.llm_choice.dialog_factory); None: the offline engine alone
    make_dialog: Callable[[CallContext, DialogEngine], llm.LLM[Any]] | None = None

    def warm(self) -> ReceptionServices:
        """Load the intent model and Duckling now, not on the first caller turn."""
        self.classifier = self.classifier or default_classifier()
        self.parser = self.parser or default_parser()
        return self

    def open(self, *, call_id: str, practice_id: int, caller_number: str, lang: str, triage: Triage) -> Reception:
        """Build one call's context and engine (blocking: reads the practice; run it off the event loop)."""
        self.warm()
        assert self.classifier is not None and self.parser is not None
        calendar = self.make_calendar(self.db)
        ctx = CallContext(call_id=call_id, practice=load_profile(self.db, practice_id), calendar=calendar,
                          tickets=self.tickets, caller_number=caller_number, lang=lang, clock=self.clock)
        reader = Reader(self.parser, calendar.practitioners(practice_id))
        guard = _guard(triage)
        conversation = Conversation(ctx=ctx, classifier=self.classifier, reader=reader,
                                    monitor=CallMonitor(self.thresholds_for(practice_id)), guard=guard)
        engine = DialogEngine(conversation)
        return Reception(ctx, engine, self.make_dialog(ctx, engine) if self.make_dialog else None)

    async def for_call(self, call: CallState, triage: Triage, caller_number: str) -> Reception | None:
        if call.practice is None or call.practice.id is None:
            return None
        practice_id = call.practice.id
        return await asyncio.to_thread(lambda: self.open(call_id=call.call_id, practice_id=practice_id,
                                                         caller_number=caller_number, lang=call.language,
                                                         triage=triage))


def _guard(triage: Triage) -> Callable[[str, object], GuardResult]:
    def run(text: str, context: object) -> GuardResult:
        return guard_turn(text, triage=triage, lang="fr", context=context)

    return run


class ReceptionAgent(Agent):
    """Greets the caller; the triage guard sees every final transcript before the dialog does."""

    def __init__(
        self, *, call: CallState, triage: Triage, lang: str = "fr", reception: Reception | None = None
    ) -> None:
        if reception is not None:
            tools: list[llm.Tool | llm.Toolset] = list(llm.find_function_tools(ReceptionTools(reception.ctx)))
            super().__init__(instructions=prompts.text("instructions", lang), tools=tools, llm=reception.active_llm)
        else:
            super().__init__(instructions=prompts.text("instructions", lang))
        self._call = call
        self._triage = triage
        self._lang = lang
        self._reception = reception
        if reception is not None:
            call.attach_results(reception.ctx)

    async def on_enter(self) -> None:
        if self._reception is not None:
            text = greeting(self._reception.ctx)
            self._reception.engine.conversation.remember(text)  # "pardon ?" right away repeats the greeting
            self.session.say(text)
            return
        practice = self._call.practice.name if self._call.practice else None
        self.session.say(greeting_text(practice, self._lang))

    async def on_user_turn_completed(self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage) -> None:
        """The voice path's hook for final transcripts: guard first; an emergency never reaches the dialog."""
        text = new_message.text_content or ""
        lang = self._reception.ctx.lang if self._reception else self._lang
        result = await asyncio.to_thread(guard_turn, text, triage=self._triage, lang=lang,
                                         context=self._call.triage_context)
        stopped_at = (new_message.metrics or {}).get("stopped_speaking_at")
        self._call.caller_turn(text, confidence=new_message.transcript_confidence, stopped_at=stopped_at,
                               guard=result)
        if result.say is None:
            if self._reception is not None:
                self._reception.ctx.guarded_text = text
            return
        log.info("triage guard took the turn", extra={"call_id": self._call.call_id, "level": result.level})
        self.session.say(await self._hold(result), allow_interruptions=False)
        raise llm.StopResponse()

    async def _hold(self, result: GuardResult) -> str:
        """Enqueue the hand-off ticket and return the holding line (the guard's own line without a context)."""
        if self._reception is None or result.say is None:
            return result.say or ""
        ctx = self._reception.ctx
        reason = handoff_reason(result)
        try:
            return await asyncio.to_thread(actions.request_human, ctx, reason, result.level)
        except Exception as exc:  # the caller must hear the line even if the queue is down
            log.error("could not enqueue the hand-off", extra={"call_id": ctx.call_id, "error": type(exc).__name__})
            return result.say


def tool_names(agent: Agent) -> list[str]:
    """The names of an agent's function tools (for tests and the real-LLM path)."""
    return sorted(t.info.name for t in agent.tools if isinstance(t, llm.FunctionTool))


def describe(reception: Reception | None) -> dict[str, Any]:
    """What the call achieved, for `permanence call` and benchmarks."""
    if reception is None:
        return {}
    ctx = reception.ctx
    return {"outcome": ctx.outcome, "ticket": ctx.ticket, "appointment": ctx.appointment}
