"""What one call has done so far (turns, triage, escalation, latency), persisted through a `CallStore`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from agent.call_store import CallEnd, CallStore, PracticeInfo, TurnRecord
from agent.triage_guard import GuardResult

log = logging.getLogger(__name__)
T = TypeVar("T")

_LEVEL_RANK = {"routine": 0, "urgent": 1, "emergency": 2}


class CallResults(Protocol):
    """What the reception dialog achieved (`agent.tools.context.CallContext` satisfies it)."""

    outcome: str
    ticket: dict[str, Any] | None
    appointment: Any


def _results_dicts(results: CallResults | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if results is None:
        return None, None
    info = results.appointment
    if info is None:
        return results.ticket, None
    appointment = {"id": info.id, "practitioner": info.practitioner_name, "practitioner_id": info.practitioner_id,
                   "starts_at": info.starts_at.isoformat(), "status": info.status}
    return results.ticket, appointment


@dataclass(frozen=True)
class CallSummary:
    """The record of a finished call, handed to observers (the `permanence call` client, benchmarks)."""

    call_id: str
    stream_sid: str
    practice: PracticeInfo | None
    outcome: str
    escalated: bool
    triage_level: str
    turns: list[TurnRecord]
    dtmf: list[str]
    escalation_reason: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    ticket: dict[str, Any] | None = None
    appointment: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id, "outcome": self.outcome, "escalated": self.escalated,
            "triage_level": self.triage_level, "escalation_reason": self.escalation_reason, "dtmf": list(self.dtmf),
            "turns": [_turn_dict(t) for t in self.turns], "ticket": self.ticket, "appointment": self.appointment,
        }


def _turn_dict(turn: TurnRecord) -> dict[str, Any]:
    return {"seq": turn.seq, "speaker": turn.speaker, "text": turn.text, "at": turn.at.timestamp(),
            "stt_confidence": turn.stt_confidence, "voice_to_voice_ms": turn.voice_to_voice_ms,
            "triage": turn.triage}


class CallState:
    """The live state of one call; every change is written to the store off the event loop, in order."""

    def __init__(
        self, *, store: CallStore, call_id: str, stream_sid: str, practice: PracticeInfo | None, language: str = "fr",
        caller_number: str = "",
    ) -> None:
        self.store = store
        self.language = language
        self.caller_number = caller_number
        self.call_id = call_id
        self.stream_sid = stream_sid
        self.practice = practice
        self.turns: list[TurnRecord] = []
        self.dtmf: list[str] = []
        self.escalated = False
        self.escalation_reason = ""
        self.triage_level = "routine"
        self.hung_up = False
        self.triage_context: Any = None
        self.error = ""
        self._awaiting_reply: tuple[int, float] | None = None
        self._results: CallResults | None = None
        self._writes: asyncio.Queue[Callable[[], None] | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="call-state-writer")

    @classmethod
    async def open(
        cls, *, store: CallStore, stream_sid: str, practice_slug: str | None, caller_number: str, language: str
    ) -> CallState:
        """Create the call record (outcome `in_progress` until the call ends)."""
        practice = await asyncio.to_thread(store.practice, practice_slug)
        call_id = await asyncio.to_thread(
            lambda: store.open_call(practice_id=practice.id if practice else None, caller_number=caller_number,
                                    language=language)
        )
        return cls(store=store, call_id=call_id, stream_sid=stream_sid, practice=practice, language=language,
                   caller_number=caller_number)

    # -- events of the call ------------------------------------------------------------------------------

    def caller_turn(self, text: str, *, confidence: float | None, stopped_at: float | None, guard: GuardResult) -> None:
        """A final caller transcript and the triage guard's verdict on it."""
        turn = self._add("caller", text, stt_confidence=confidence, triage=guard.triage or None)
        self._awaiting_reply = (turn.seq, stopped_at or time.time())
        self.triage_context = guard.context
        self.raise_level(guard.level)
        if guard.escalate:
            self.escalate(f"triage_{guard.level}")

    def agent_turn(self, text: str) -> None:
        if text.strip():
            self._add("agent", text)

    def dtmf_digit(self, digit: str) -> None:
        self.dtmf.append(digit)
        self._add("dtmf", digit)

    def agent_audio_started(self, at: float) -> None:
        """First agent audio after a caller turn: that turn's voice-to-voice latency is known."""
        if self._awaiting_reply is None:
            return
        seq, stopped_at = self._awaiting_reply
        self._awaiting_reply = None
        latency_ms = max(0, round((at - stopped_at) * 1000))
        self.turns = [_with_latency(t, latency_ms) if t.seq == seq else t for t in self.turns]
        self._write(lambda: self.store.update_turn_latency(self.call_id, seq, latency_ms))

    def raise_level(self, level: str) -> None:
        if _LEVEL_RANK.get(level, 2) > _LEVEL_RANK.get(self.triage_level, 0):
            self.triage_level = level

    def escalate(self, reason: str) -> None:
        if not self.escalated:
            self.escalated, self.escalation_reason = True, reason
            log.info("call escalated", extra={"call_id": self.call_id, "reason": reason})

    def attach_results(self, results: CallResults) -> None:
        """What the dialog achieved (outcome, ticket, appointment) is read from `results` at the end."""
        self._results = results

    # -- end ----------------------------------------------------------------------------------------------

    def outcome(self) -> str:
        """escalated > error > what the dialog did (booked, cancelled...) > abandoned > completed."""
        made = self._results.outcome if self._results is not None else ""
        if made == "escalated":
            self.escalate("dialog_handoff")
        if self.escalated:
            return "escalated"
        if self.error:
            return "error"
        if made:
            return made
        if not self.hung_up or not any(t.speaker == "caller" for t in self.turns):
            return "abandoned"
        return "completed"

    async def close(self, stats: dict[str, Any] | None = None) -> CallSummary:
        """Persist the outcome (after every pending write) and return the summary."""
        end = CallEnd(outcome=self.outcome(), escalated=self.escalated, triage_level=self.triage_level,
                      ended_at=datetime.now(UTC))
        self._write(lambda: self.store.close_call(self.call_id, end))
        self._writes.put_nowait(None)
        await self._writer
        ticket, appointment = _results_dicts(self._results)
        return CallSummary(self.call_id, self.stream_sid, self.practice, end.outcome, self.escalated,
                           self.triage_level, list(self.turns), list(self.dtmf), self.escalation_reason,
                           dict(stats or {}), ticket, appointment)

    # -- internals ----------------------------------------------------------------------------------------

    def _add(self, speaker: str, text: str, **fields: Any) -> TurnRecord:
        turn = TurnRecord(seq=len(self.turns) + 1, speaker=speaker, text=text, **fields)
        self.turns.append(turn)
        self._write(lambda: self.store.add_turn(self.call_id, turn))
        return turn

    def _write(self, operation: Callable[[], None]) -> None:
        self._writes.put_nowait(operation)

    async def _write_loop(self) -> None:
        while (operation := await self._writes.get()) is not None:
            try:
                await asyncio.to_thread(operation)
            except Exception as exc:  # by type only: database errors echo their parameters (transcripts)
                log.error("could not persist a call event", extra={"call_id": self.call_id,
                                                                   "error": type(exc).__name__})


def _with_latency(turn: TurnRecord, latency_ms: int) -> TurnRecord:
    return TurnRecord(turn.seq, turn.speaker, turn.text, turn.at, turn.stt_confidence, latency_ms, turn.triage)
