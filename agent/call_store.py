"""Where a call's record and turns are kept: a `CallStore` Protocol, its SQL implementation and a fake."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import select

from practice.db import session_scope
from practice.models import Call, Practice, Turn, new_id, utc_now


@dataclass(frozen=True)
class PracticeInfo:
    """The practice a call is for, as the greeting needs it."""

    id: int | None
    name: str
    slug: str = ""


@dataclass(frozen=True)
class TurnRecord:
    """One utterance of a call, as persisted."""

    seq: int
    speaker: str
    text: str
    at: datetime = field(default_factory=utc_now)
    stt_confidence: float | None = None
    voice_to_voice_ms: int | None = None
    triage: dict[str, Any] | None = None


@dataclass(frozen=True)
class CallEnd:
    """How a call ended."""

    outcome: str
    escalated: bool
    triage_level: str
    ended_at: datetime = field(default_factory=utc_now)


class CallStore(Protocol):
    """Persistence of calls and turns (synchronous; the call runner calls it from a worker thread)."""

    def practice(self, slug: str | None) -> PracticeInfo | None: ...

    def open_call(self, *, practice_id: int | None, caller_number: str, language: str) -> str: ...

    def add_turn(self, call_id: str, turn: TurnRecord) -> None: ...

    def update_turn_latency(self, call_id: str, seq: int, voice_to_voice_ms: int) -> None: ...

    def close_call(self, call_id: str, end: CallEnd) -> None: ...


class SqlCallStore:
    """Calls and turns in the Permanence database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def practice(self, slug: str | None) -> PracticeInfo | None:
        """The practice named by `slug`, else the only/first practice (the embedded default)."""
        with session_scope(self._engine) as session:
            query = select(Practice).where(Practice.slug == slug) if slug else select(Practice)
            row = session.exec(query.order_by(Practice.id)).first()  # type: ignore[arg-type]
            if row is None and slug:
                row = session.exec(select(Practice).order_by(Practice.id)).first()  # type: ignore[arg-type]
            return PracticeInfo(row.id, row.name, row.slug) if row else None

    def open_call(self, *, practice_id: int | None, caller_number: str, language: str) -> str:
        call = Call(practice_id=practice_id, caller_number=caller_number[:20], language=language,
                    transport="media-stream", outcome="in_progress")
        with session_scope(self._engine) as session:
            session.add(call)
        return call.id

    def add_turn(self, call_id: str, turn: TurnRecord) -> None:
        with session_scope(self._engine) as session:
            session.add(Turn(call_id=call_id, seq=turn.seq, speaker=turn.speaker, text=turn.text, at=turn.at,
                             stt_confidence=turn.stt_confidence, voice_to_voice_ms=turn.voice_to_voice_ms,
                             triage=turn.triage))

    def update_turn_latency(self, call_id: str, seq: int, voice_to_voice_ms: int) -> None:
        with session_scope(self._engine) as session:
            row = session.exec(select(Turn).where(Turn.call_id == call_id, Turn.seq == seq)).first()
            if row is not None:
                row.voice_to_voice_ms = voice_to_voice_ms
                session.add(row)

    def close_call(self, call_id: str, end: CallEnd) -> None:
        with session_scope(self._engine) as session:
            call = session.get(Call, call_id)
            if call is None:
                return
            call.outcome, call.escalated = end.outcome[:20], end.escalated
            call.triage_level, call.ended_at = end.triage_level, end.ended_at
            session.add(call)


class MemoryCallStore:
    """In-memory fake for tests of the call runner."""

    def __init__(self, practice: PracticeInfo | None = None) -> None:
        self._practice = practice or PracticeInfo(1, "Cabinet de test", "test")
        self.calls: dict[str, dict[str, Any]] = {}
        self.turns: dict[str, list[TurnRecord]] = {}

    def practice(self, slug: str | None) -> PracticeInfo | None:
        return self._practice

    def open_call(self, *, practice_id: int | None, caller_number: str, language: str) -> str:
        call_id = new_id()
        self.calls[call_id] = {"practice_id": practice_id, "caller_number": caller_number, "language": language,
                               "outcome": "in_progress", "escalated": False, "triage_level": "routine"}
        self.turns[call_id] = []
        return call_id

    def add_turn(self, call_id: str, turn: TurnRecord) -> None:
        self.turns[call_id].append(turn)

    def update_turn_latency(self, call_id: str, seq: int, voice_to_voice_ms: int) -> None:
        self.turns[call_id] = [
            TurnRecord(t.seq, t.speaker, t.text, t.at, t.stt_confidence, voice_to_voice_ms, t.triage)
            if t.seq == seq else t
            for t in self.turns[call_id]
        ]

    def close_call(self, call_id: str, end: CallEnd) -> None:
        self.calls[call_id].update(outcome=end.outcome, escalated=end.escalated, triage_level=end.triage_level,
                                   ended_at=end.ended_at)
