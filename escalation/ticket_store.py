"""The database side of the human queue: every ticket and lifecycle change, the source of truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from practice.db import session_scope
from practice.models import Ticket, TicketEvent, TicketStatus, utc_now

OPEN_STATUSES = (TicketStatus.queued, TicketStatus.offered, TicketStatus.claimed, TicketStatus.connected)


@dataclass(frozen=True)
class TicketSpec:
    """What the agent hands over when it escalates a call (ticket id = call id)."""

    id: str
    practice_id: int | None
    level: str = "routine"
    reason: str = ""
    kind: str = "handoff"
    skills: tuple[str, ...] = ()
    caller_number: str = ""
    practitioner_id: int | None = None
    preferred_user_ids: tuple[int, ...] = ()
    summary: dict[str, Any] = field(default_factory=dict)


class TicketStore:
    """Writes tickets and their events; reads what the queue needs to rebuild itself."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, spec: TicketSpec, *, created_at: datetime | None = None) -> tuple[Ticket, bool]:
        """Insert the ticket and its `queued` event; an existing ticket is returned untouched (idempotent)."""
        try:
            with session_scope(self._engine) as session:
                existing = session.get(Ticket, spec.id)
                if existing is not None:
                    return existing, False
                ticket = _ticket_from_spec(spec, created_at or utc_now())
                session.add(ticket)
                session.flush()
                session.add(TicketEvent(ticket_id=spec.id, status=TicketStatus.queued, at=ticket.created_at,
                                        detail={"level": spec.level}))
                return ticket, True
        except sa.exc.IntegrityError:
            return self.get_required(spec.id), False

    def record(
        self, ticket_id: str, status: str, *, user_id: int | None = None, detail: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Ticket:
        """Apply a lifecycle change to the ticket row and append its event, in one transaction."""
        with session_scope(self._engine) as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise LookupError(f"ticket {ticket_id} does not exist")
            ticket.status = status
            for name, value in changes.items():
                setattr(ticket, name, value)
            session.add(ticket)
            session.add(TicketEvent(ticket_id=ticket_id, status=status, user_id=user_id, detail=detail or {}))
            return ticket

    def get(self, ticket_id: str) -> Ticket | None:
        with Session(self._engine, expire_on_commit=False) as session:
            return session.get(Ticket, ticket_id)

    def get_required(self, ticket_id: str) -> Ticket:
        ticket = self.get(ticket_id)
        if ticket is None:
            raise LookupError(f"ticket {ticket_id} does not exist")
        return ticket

    def open_tickets(self) -> list[Ticket]:
        """Tickets still waiting for or held by a human: what Redis must hold after a restart."""
        with Session(self._engine, expire_on_commit=False) as session:
            rows = session.exec(
                select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
                .order_by(Ticket.created_at)  # type: ignore[arg-type]
            )
            return list(rows)

    def events(self, ticket_id: str) -> list[TicketEvent]:
        with Session(self._engine, expire_on_commit=False) as session:
            rows = session.exec(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)  # type: ignore[arg-type]
            )
            return list(rows)


def _ticket_from_spec(spec: TicketSpec, created_at: datetime) -> Ticket:
    return Ticket(
        id=spec.id,
        practice_id=spec.practice_id,
        kind=spec.kind,
        level=spec.level,
        reason=spec.reason[:300],
        status=TicketStatus.queued,
        skills=list(spec.skills),
        summary=spec.summary,
        caller_number=spec.caller_number,
        practitioner_id=spec.practitioner_id,
        preferred_user_ids=list(spec.preferred_user_ids),
        created_at=created_at,
    )
