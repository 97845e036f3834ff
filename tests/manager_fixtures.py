"""Fixtures of the manager console tests: an in-process client logged in per role, recorded calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from practice.models import Call, Ticket, TicketEvent, Turn
from tests.console_fixtures import ConsoleWorld, login


@contextmanager
def client_as(world: ConsoleWorld, short: str | None) -> Iterator[TestClient]:
    """A client on the app, logged in as sec0 / manager / admin (None: anonymous, CSRF token only)."""
    with TestClient(world.app, base_url="http://testserver", follow_redirects=False) as client:
        if short is not None:
            login(client, world.username(short))  # type: ignore[arg-type]  # TestClient is an httpx.Client
        else:
            client.get("/login")
        yield client


@dataclass(frozen=True)
class RecordedCall:
    id: str
    practice_id: int
    started_at: datetime
    caller: tuple[str, ...]
    disposition: str = ""
    level: str = "routine"


def record_calls(engine: Engine, calls: list[RecordedCall]) -> None:
    """Calls with an agent greeting, the caller's turns, and a closed ticket when a disposition is given."""
    with Session(engine) as session:
        for call in calls:
            session.add(Call(id=call.id, practice_id=call.practice_id, started_at=call.started_at,
                             ended_at=call.started_at, outcome="escalated" if call.disposition else "completed",
                             escalated=bool(call.disposition), triage_level=call.level))
        session.flush()
        for call in calls:
            session.add(Turn(call_id=call.id, seq=1, speaker="agent", text="Cabinet médical, bonjour.",
                             at=call.started_at))
            for seq, text in enumerate(call.caller, 2):
                session.add(Turn(call_id=call.id, seq=seq, speaker="caller", text=text, at=call.started_at,
                                 triage={"level": call.level}))
            if call.disposition:
                session.add(Ticket(id=call.id, practice_id=call.practice_id, level=call.level, status="closed",
                                   disposition=call.disposition, created_at=call.started_at,
                                   closed_at=call.started_at))
        session.flush()
        for call in calls:
            if call.disposition:
                session.add(TicketEvent(ticket_id=call.id, status="closed", at=call.started_at,
                                        detail={"disposition": call.disposition}))
        session.commit()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
