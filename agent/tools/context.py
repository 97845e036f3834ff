"""The per-call context the reception tools work in: services (calendar, tickets, clock) and what the call did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from agent.tools.practice_profile import PracticeProfile
from escalation.ticket_store import TicketSpec, TicketStore
from practice.calendar import Calendar
from practice.calendar_types import AppointmentInfo, Slot, SlotConstraints


class TicketSink(Protocol):
    """Where tickets go (`escalation.queue.HumanQueue` satisfies it); idempotent per ticket id."""

    def enqueue(self, spec: TicketSpec) -> Any: ...


class StoredTickets:
    """Tickets written to the database only (no Redis at hand); the queue picks them up when it rebuilds."""

    def __init__(self, store: TicketStore) -> None:
        self._store = store

    def enqueue(self, spec: TicketSpec) -> Any:
        return self._store.create(spec)


class MemoryTickets:
    """An in-memory sink for unit tests and benchmarks."""

    def __init__(self) -> None:
        self.specs: dict[str, TicketSpec] = {}

    def enqueue(self, spec: TicketSpec) -> Any:
        return self.specs.setdefault(spec.id, spec)


def utc_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Caller:
    """Who the caller said they are (never logged)."""

    first_name: str = ""
    last_name: str = ""
    birth_date: date | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass
class CallContext:
    """Everything a tool needs for one call, built by the composition root; also the call's results."""

    call_id: str
    practice: PracticeProfile
    calendar: Calendar
    tickets: TicketSink
    caller_number: str = ""
    lang: str = "fr"
    clock: Callable[[], datetime] = utc_clock
    caller: Caller = field(default_factory=Caller)
    offered: list[Slot] = field(default_factory=list)
    last_search: tuple[str | int | None, str | None, SlotConstraints] | None = None
    found: list[AppointmentInfo] = field(default_factory=list)
    outcome: str = ""
    appointment: AppointmentInfo | None = None
    ticket: dict[str, Any] | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    guarded_text: str | None = None

    @property
    def practice_id(self) -> int:
        return self.practice.id

    def now(self) -> datetime:
        return self.clock()

    def local_now(self) -> datetime:
        return self.practice.local(self.clock())

    def record(self, outcome: str, action: dict[str, Any] | None = None) -> None:
        """Remember what the call achieved (the strongest outcome wins) and the action for the summary."""
        if _RANK.get(outcome, 0) >= _RANK.get(self.outcome, 0):
            self.outcome = outcome
        if action is not None:
            self.actions.append(action)


_RANK = {"": 0, "informed": 1, "confirmed": 2, "message": 3, "cancelled": 3, "rescheduled": 4, "booked": 4,
         "escalated": 5}
