"""Scripted reception calls as text through `AgentSession.run`: a fresh demo practice, the real tools and engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from livekit.agents import AgentSession
from livekit.agents.voice.run_result import RunResult
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent.call_state import CallState
from agent.call_store import MemoryCallStore, PracticeInfo
from agent.reception_agent import Reception, ReceptionAgent, ReceptionServices
from agent.tools.context import TicketSink
from escalation.triage import TriageEngine
from practice.demo import DEMO_SLUG, seed_demo
from practice.models import Appointment, Patient, Practice, Practitioner

PARIS = ZoneInfo("Europe/Paris")
# A Tuesday morning, the practice open (tests move it to evenings, Sundays and holidays).
TUESDAY_10H = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)
CALLER = "+33699887766"


@dataclass
class Demo:
    engine: Engine
    practice_id: int
    today: date

    def practitioner_id(self, last_name: str) -> int:
        with Session(self.engine) as s:
            row = s.exec(select(Practitioner).where(Practitioner.last_name == last_name)).one()
            assert row.id is not None
            return row.id

    def add_patient_appointment(self, *, first: str, last: str, born: date, phone: str, practitioner: str,
                                starts_at: datetime, minutes: int = 20) -> int:
        """A patient of our own with one appointment (demo patients have dozens)."""
        with Session(self.engine) as s:
            patient = Patient(first_name=first, last_name=last, birth_date=born, phone=phone)
            s.add(patient)
            s.flush()
            assert patient.id is not None
            appt = Appointment(practice_id=self.practice_id, practitioner_id=self.practitioner_id(practitioner),
                               patient_id=patient.id, starts_at=starts_at,
                               ends_at=starts_at + timedelta(minutes=minutes))
            s.add(appt)
            s.commit()
            assert appt.id is not None
            return appt.id

    def appointments_of(self, last_name: str) -> list[Appointment]:
        with Session(self.engine) as s:
            query = select(Appointment).join(Patient, Patient.id == Appointment.patient_id)  # type: ignore[arg-type]
            rows = s.exec(query.where(Patient.last_name == last_name).order_by(Appointment.id)).all()  # type: ignore[arg-type]
            return list(rows)

    def appointment(self, appointment_id: int) -> Appointment:
        with Session(self.engine) as s:
            row = s.get(Appointment, appointment_id)
            assert row is not None
            return row


def seed(engine: Engine, today: date = TUESDAY_10H.date()) -> Demo:
    seed_demo(engine, today=today)
    with Session(engine) as s:
        pid = s.exec(select(Practice.id).where(Practice.slug == DEMO_SLUG)).one()
    assert pid is not None
    return Demo(engine, pid, today)


_TRIAGE: TriageEngine | None = None


def triage() -> TriageEngine:
    global _TRIAGE
    if _TRIAGE is None:
        _TRIAGE = TriageEngine.default()
    return _TRIAGE


@dataclass
class Transcript:
    """What a scripted call produced."""

    reception: Reception
    agent_lines: list[str] = field(default_factory=list)
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    turn_seconds: list[float] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return self.reception.ctx.outcome

    @property
    def text(self) -> str:
        return "\n".join(self.agent_lines)


async def run_script(demo: Demo, lines: list[str], *, tickets: TicketSink, now: datetime = TUESDAY_10H,
                     caller: str = CALLER, lang: str = "fr",
                     services_hook: Callable[[ReceptionServices], None] | None = None,
                     before_line: Callable[[int, Transcript], None] | None = None) -> Transcript:
    """Greet, then send each caller line through `session.run`; collect what the agent said and called."""
    services = ReceptionServices(db=demo.engine, tickets=tickets, clock=lambda: now).warm()
    if services_hook:
        services_hook(services)
    store = MemoryCallStore(PracticeInfo(demo.practice_id, "Maison de santé des Tilleuls", DEMO_SLUG))
    call = await CallState.open(store=store, stream_sid="text", practice_slug=DEMO_SLUG, caller_number=caller,
                                language=lang)
    reception = services.open(call_id=call.call_id, practice_id=demo.practice_id, caller_number=caller, lang=lang,
                              triage=triage())
    agent = ReceptionAgent(call=call, triage=triage(), lang=lang, reception=reception)
    transcript = Transcript(reception)
    async with AgentSession[None]() as session:
        await session.start(agent)
        for index, line in enumerate(lines):
            if before_line is not None:
                before_line(index, transcript)
            started = time.perf_counter()
            result: RunResult[None] = await session.run(user_input=line)
            transcript.turn_seconds.append(time.perf_counter() - started)
            _collect(result, transcript)
    await call.close()
    return transcript


def _collect(result: Any, transcript: Transcript) -> None:
    for event in result.events:
        item = event.item
        if event.type == "message" and item.role == "assistant":
            transcript.agent_lines.append(item.text_content or "")
        elif event.type == "function_call":
            transcript.tool_calls.append((item.name, item.arguments))
