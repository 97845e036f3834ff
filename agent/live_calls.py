"""The server process's live calls (call id = ticket id), so the console can bridge a secretary into one."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime
from typing import Any, Protocol

from agent.handoff import CallHandoff, HandoffError, HandoffPolicy, SecretarySocket
from escalation.ticket_store import TicketSpec

log = logging.getLogger(__name__)


class TicketSink(Protocol):
    def enqueue(self, spec: TicketSpec) -> Any: ...


class LiveCallRegistry:
    """Every media-stream call in progress with its hand-off handles; thread-safe lookups.

    It satisfies the console's `console.handoff.LiveCalls` protocol (the composition root injects it).
    """

    def __init__(self, policy: HandoffPolicy | None = None,
                 parse_when: Any = None) -> None:
        self.policy = policy or HandoffPolicy()
        self.parse_when = parse_when
        self._calls: dict[str, CallHandoff] = {}
        self._lock = threading.Lock()

    def register(self, handoff: CallHandoff) -> CallHandoff:
        handoff.policy = self.policy
        if handoff.parse_when is None:
            handoff.parse_when = self.parse_when
        with self._lock:
            self._calls[handoff.call_id] = handoff
        return handoff

    def unregister(self, call_id: str) -> None:
        with self._lock:
            handoff = self._calls.pop(call_id, None)
        if handoff is not None:
            handoff.call_ended()

    def get(self, call_id: str) -> CallHandoff | None:
        with self._lock:
            return self._calls.get(call_id)

    def __len__(self) -> int:
        return len(self._calls)

    # -- the console's view (console.handoff.LiveCalls) ---------------------------------------------------

    def transport(self, call_id: str) -> str | None:
        return "media-stream" if self.get(call_id) is not None else None

    async def attach_secretary(self, call_id: str, socket: SecretarySocket, *, secretary_id: int) -> None:
        """Bridge the secretary in (on the call's own event loop) until either side hangs up."""
        handoff = self.get(call_id)
        if handoff is None or handoff.ended:
            raise HandoffError("call_not_live")
        loop = handoff.loop  # the call's loop; the console may run on another
        if loop is None or loop is asyncio.get_running_loop():
            await handoff.attach(socket, secretary_id=secretary_id)
            return
        future = asyncio.run_coroutine_threadsafe(handoff.attach(socket, secretary_id=secretary_id), loop)
        await asyncio.wrap_future(future)

    # -- tickets ---------------------------------------------------------------------------------------------

    def ticket_enqueued(self, spec: TicketSpec) -> None:
        handoff = self.get(spec.id)
        if handoff is not None:
            handoff.ticket_enqueued(spec.id, spec.kind, spec.level)


class HandoffTickets:
    """A ticket sink that enqueues, then starts the call's wait for a secretary (wraps `HumanQueue`)."""

    def __init__(self, inner: TicketSink, registry: LiveCallRegistry) -> None:
        self._inner = inner
        self._registry = registry

    def enqueue(self, spec: TicketSpec) -> Any:
        result = self._inner.enqueue(spec)
        try:
            self._registry.ticket_enqueued(spec)
        except Exception as exc:  # the ticket is safe; only the wait timer is lost
            log.error("could not start the hand-off wait", extra={"call_id": spec.id, "error": type(exc).__name__})
        return result


def queue_policy(queue: Any, thresholds: Any, engine: Any, *, presence_timeout_s: float = 45.0) -> HandoffPolicy:
    """The hand-off policy on the real queue (`HumanQueue`), thresholds (`ThresholdStore`) and database."""
    from sqlmodel import Session, col, select

    from escalation.queue import QueueUnavailable
    from escalation.ticket_store import TicketStore
    from practice.models import Practice, Ticket, TicketStatus, UserPractice

    def wait_seconds(practice_id: int | None) -> float:
        return float(thresholds.active(practice_id)[1].handoff_wait_seconds)

    def secretaries_present(practice_id: int | None) -> bool:
        present = queue.present(timeout_s=presence_timeout_s)
        available = [uid for uid, status in present.items() if status != "away"]
        if not available or practice_id is None:
            return bool(available)
        with Session(engine) as session:
            rows = session.exec(select(UserPractice.user_id).where(UserPractice.practice_id == practice_id,
                                                                   col(UserPractice.user_id).in_(available)))
            return rows.first() is not None

    def ticket_status(ticket_id: str) -> str | None:
        with Session(engine) as session:
            ticket = session.get(Ticket, ticket_id)
            return ticket.status if ticket else None

    def to_callback(ticket_id: str, due: datetime, number: str) -> None:
        try:
            queue.to_callback(ticket_id, due=due, number=number)
        except QueueUnavailable:  # Redis down: the database is the source of truth, the callback is not lost
            changes: dict[str, Any] = {"callback_due": due, **({"caller_number": number} if number else {})}
            TicketStore(engine).record(ticket_id, TicketStatus.callback,
                                       detail={"due": due.isoformat(), "queue": "unavailable"}, **changes)

    def after_hours(practice_id: int | None) -> dict[str, Any]:
        if practice_id is None:
            return {}
        with Session(engine) as session:
            practice = session.get(Practice, practice_id)
            return dict(practice.after_hours_policy or {}) if practice else {}

    def abandon(ticket_id: str) -> None:
        queue.abandon(ticket_id)

    return HandoffPolicy(wait_seconds=wait_seconds, secretaries_present=secretaries_present,
                         ticket_status=ticket_status, to_callback=to_callback, after_hours=after_hours,
                         abandon=abandon)


def duckling_when(parser: Any) -> Any:
    """A best-time reader on the dialog's Duckling parser: the first moment the caller names, else None."""

    def parse(text: str, ref: datetime, lang: str) -> datetime | None:
        for mention in parser.mentions(text, ref, lang):
            value = mention.value
            raw = value.get("value") or (value.get("from") or {}).get("value") or (value.get("to") or {}).get("value")
            if raw:
                return datetime.fromisoformat(str(raw))
        return None

    return parse
