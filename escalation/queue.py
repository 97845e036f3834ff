"""The human queue on Redis: atomic enqueue and claim, priority, routing, SLA, presence, rebuild.

The database (`TicketStore`) is the source of truth and is written first; Redis holds the live view
(who waits, in which order, who holds what) and is rebuilt from the database after a restart. Every
state change on Redis is one Lua script, so it is atomic, and publishes its event in the same step.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from escalation.queue_keys import QueueKeys
from escalation.queue_scripts import CLAIM, ENQUEUE, REQUEUE, SLA_BUMP, TRANSITION
from escalation.thresholds import SlaSeconds
from escalation.ticket_store import TicketSpec, TicketStore
from practice.models import Ticket, TicketStatus

log = logging.getLogger("permanence.queue")

LEVEL_RANK = {"emergency": 0, "urgent": 1, "routine": 2}
LEVEL_SPAN = 10**13  # ranks are this far apart in the score; epoch milliseconds fit below it
REQUEUE_BOOST = 5 * 10**12  # a re-offered ticket goes ahead of every ticket of its level
PREFERRED_WINDOW_S = 20.0  # a practitioner's own secretary sees the ticket alone this long
TERMINAL = (TicketStatus.closed, TicketStatus.abandoned, TicketStatus.callback)


class QueueError(Exception):
    """Base of the queue's errors; `code` is stable for the API."""

    code = "queue_error"


class TicketNotFound(QueueError, LookupError):
    code = "ticket_not_found"


class AlreadyClaimed(QueueError):
    code = "already_claimed"


class InvalidTransition(QueueError):
    code = "invalid_transition"


class QueueUnavailable(QueueError):
    code = "queue_unavailable"


@dataclass(frozen=True)
class Secretary:
    """A tele-secretary as the queue routes to her: the practices she serves and her skills."""

    id: int
    practice_ids: tuple[int, ...]
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueEntry:
    """One ticket as a secretary's queue shows it."""

    id: str
    practice_id: int | None
    level: str
    status: str
    score: float
    created_at: datetime
    waited_s: float
    skills: tuple[str, ...]
    preferred_user_ids: tuple[int, ...]
    sla_breached: bool
    requeued: bool
    claimed_by: int | None


@dataclass(frozen=True)
class EnqueueResult:
    ticket: Ticket
    created: bool
    live: bool  # False when Redis was unreachable: the ticket is safe in the database, resync will queue it


@dataclass
class _Clock:
    now: Callable[[], float] = field(default=time.time)

    def ms(self) -> int:
        return int(self.now() * 1000)


def priority_score(level: str, created_ms: int, *, boosted: bool = False) -> int:
    """Lower is served first: the level's rank, then the waiting time (older first)."""
    score = LEVEL_RANK.get(level, LEVEL_RANK["routine"]) * LEVEL_SPAN + created_ms
    return score - REQUEUE_BOOST if boosted else score


class HumanQueue:
    """Enqueue, claim, hand over and close tickets; every change is mirrored to the database."""

    def __init__(
        self,
        redis: Redis,
        store: TicketStore,
        *,
        keys: QueueKeys | None = None,
        clock: Callable[[], float] = time.time,
        preferred_window_s: float = PREFERRED_WINDOW_S,
    ) -> None:
        self._redis = redis
        self._store = store
        self.keys = keys or QueueKeys()
        self._clock = _Clock(clock)
        self._preferred_window_s = preferred_window_s
        self._enqueue = redis.register_script(ENQUEUE)
        self._claim = redis.register_script(CLAIM)
        self._requeue = redis.register_script(REQUEUE)
        self._transition = redis.register_script(TRANSITION)
        self._sla_bump = redis.register_script(SLA_BUMP)

    # --- enqueue --------------------------------------------------------------------------------

    def enqueue(self, spec: TicketSpec) -> EnqueueResult:
        """Persist the ticket, then queue it; the same call id twice is one ticket."""
        created_at = datetime.fromtimestamp(self._clock.now(), UTC)
        ticket, created = self._store.create(spec, created_at=created_at)
        try:
            self._push(ticket)
        except RedisError:
            log.warning("queue unreachable at enqueue; ticket kept in the database", extra={"ticket": ticket.id})
            return EnqueueResult(ticket, created, live=False)
        return EnqueueResult(ticket, created, live=True)

    def _push(self, ticket: Ticket, *, status: str = TicketStatus.queued, claimed_by: int | None = None) -> bool:
        created_ms = _epoch_ms(ticket.created_at)
        score = priority_score(ticket.level, created_ms)
        practice = str(ticket.practice_id or 0)
        fields = _ticket_fields(ticket, status=status, created_ms=created_ms, score=score, claimed_by=claimed_by)
        waiting = "1" if status in (TicketStatus.queued, TicketStatus.offered) else "0"
        claimed_key = self.keys.claimed_by(claimed_by if claimed_by is not None else "-")
        event = self._event("queued", ticket.id, practice=ticket.practice_id, level=ticket.level)
        keys = [self.keys.ticket(ticket.id), self.keys.waiting(practice), self.keys.waiting_practices,
                claimed_key, self.keys.events_stream, self.keys.events_channel]
        return bool(self._enqueue(keys=keys, args=[ticket.id, practice, score, event, waiting, *fields]))

    # --- claim and hand-over ------------------------------------------------------------------------

    def claim(self, ticket_id: str, secretary_id: int) -> Ticket:
        """Give the ticket to this secretary; exactly one of concurrent claimers wins."""
        practice = self._practice_of(ticket_id)
        now_ms = self._clock.ms()
        event = self._event("claimed", ticket_id, practice=practice, user=secretary_id)
        keys = [self.keys.ticket(ticket_id), self.keys.waiting(practice), self.keys.claimed_by(secretary_id),
                self.keys.events_stream, self.keys.events_channel]
        outcome = self._run(self._claim, keys, [ticket_id, secretary_id, now_ms, event])
        if outcome == -1:
            raise TicketNotFound(f"ticket {ticket_id} is not in the queue")
        if outcome == 0:
            raise AlreadyClaimed(f"ticket {ticket_id} is already taken by someone else")
        if outcome == 2:
            return self._store.get_required(ticket_id)
        try:
            return self._store.record(ticket_id, TicketStatus.claimed, user_id=secretary_id,
                                      claimed_by=secretary_id, claimed_at=_utc(now_ms))
        except Exception:
            self._requeue_ticket(ticket_id, secretary_id, reason="claim_not_recorded", boosted=True)
            raise

    def connected(self, ticket_id: str, secretary_id: int) -> Ticket:
        """The secretary is talking to the caller."""
        if not self._move(ticket_id, TicketStatus.connected, (TicketStatus.claimed,), secretary_id):
            return self._store.get_required(ticket_id)
        return self._store.record(ticket_id, TicketStatus.connected, user_id=secretary_id)

    def release(self, ticket_id: str, secretary_id: int, *, reason: str = "released") -> Ticket:
        """Put a held ticket back at the head of its level (released, or its secretary vanished)."""
        self._requeue_ticket(ticket_id, secretary_id, reason=reason, boosted=True)
        return self._store.record(ticket_id, TicketStatus.queued, user_id=secretary_id,
                                  detail={"reason": reason}, claimed_by=None, claimed_at=None)

    def close(self, ticket_id: str, secretary_id: int, *, disposition: str, note: str = "") -> Ticket:
        """Done: the secretary closes the ticket with what happened (the note stays with the ticket's event)."""
        allowed = (TicketStatus.claimed, TicketStatus.connected)
        if not self._move(ticket_id, TicketStatus.closed, allowed, secretary_id):
            return self._store.get_required(ticket_id)
        detail = {"disposition": disposition, **({"note": note[:2000]} if note else {})}
        return self._store.record(ticket_id, TicketStatus.closed, user_id=secretary_id,
                                  detail=detail, disposition=disposition[:40],
                                  closed_at=_utc(self._clock.ms()))

    def abandon(self, ticket_id: str) -> Ticket:
        """The caller hung up before anyone picked up."""
        if not self._move(ticket_id, TicketStatus.abandoned, (TicketStatus.queued, TicketStatus.offered), None):
            return self._store.get_required(ticket_id)
        return self._store.record(ticket_id, TicketStatus.abandoned, closed_at=_utc(self._clock.ms()))

    def to_callback(self, ticket_id: str, *, due: datetime, number: str = "") -> Ticket:
        """Nobody could take the call live: it becomes a callback to make before `due`."""
        allowed = (TicketStatus.queued, TicketStatus.offered, TicketStatus.claimed)
        if not self._move(ticket_id, TicketStatus.callback, allowed, None):
            return self._store.get_required(ticket_id)
        changes: dict[str, Any] = {"callback_due": due}
        if number:
            changes["caller_number"] = number
        return self._store.record(ticket_id, TicketStatus.callback, detail={"due": due.isoformat()}, **changes)

    # --- views ---------------------------------------------------------------------------------------

    def waiting_for(self, secretary: Secretary, *, present: Iterable[int] = ()) -> list[QueueEntry]:
        """The tickets this secretary may take, best first (routing by practice, skill, own secretary)."""
        entries = [e for p in secretary.practice_ids for e in self._waiting_entries(p)]
        present_ids = set(present)
        visible = [e for e in entries if self._routable(e, secretary, present_ids)]
        return sorted(visible, key=lambda e: e.score)

    def held_by(self, secretary_id: int) -> list[str]:
        members = self._redis.smembers(self.keys.claimed_by(secretary_id))
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    def entry(self, ticket_id: str) -> QueueEntry | None:
        raw = self._redis.hgetall(self.keys.ticket(ticket_id))
        return self._entry(raw) if raw else None

    def waiting_count(self, practice_id: int) -> int:
        return int(self._redis.zcard(self.keys.waiting(practice_id)))

    def _waiting_entries(self, practice_id: int) -> list[QueueEntry]:
        ids = self._redis.zrange(self.keys.waiting(practice_id), 0, -1)
        pipe = self._redis.pipeline(transaction=False)
        for ticket_id in ids:
            pipe.hgetall(self.keys.ticket(_text(ticket_id)))
        return [self._entry(raw) for raw in pipe.execute() if raw]

    def _routable(self, entry: QueueEntry, secretary: Secretary, present: set[int]) -> bool:
        if not set(entry.skills) <= set(secretary.skills):
            return False
        if not entry.preferred_user_ids or secretary.id in entry.preferred_user_ids:
            return True
        preferred_present = bool(present & set(entry.preferred_user_ids))
        return not preferred_present or entry.waited_s >= self._preferred_window_s

    def _entry(self, raw: dict[Any, Any]) -> QueueEntry:
        f = {_text(k): _text(v) for k, v in raw.items()}
        created_ms = int(f["created_ms"])
        return QueueEntry(
            id=f["id"],
            practice_id=int(f["practice"]) or None,
            level=f["level"],
            status=f["status"],
            score=float(f["score"]),
            created_at=_utc(created_ms),
            waited_s=max(0.0, (self._clock.ms() - created_ms) / 1000),
            skills=tuple(json.loads(f.get("skills", "[]"))),
            preferred_user_ids=tuple(json.loads(f.get("preferred", "[]"))),
            sla_breached=f.get("sla_breached") == "1",
            requeued=f.get("requeued") == "1",
            claimed_by=int(f["claimed_by"]) if f.get("claimed_by") else None,
        )

    # --- SLA and presence ---------------------------------------------------------------------------

    def check_sla(self, sla: SlaSeconds | Callable[[int], SlaSeconds]) -> list[str]:
        """Raise the priority of tickets waiting past their level's SLA, once, and alert; returns their ids.

        `sla` is one policy for every practice, or a function giving each practice its own.
        """
        breached: list[str] = []
        for practice in self._practices():
            limits = sla(practice) if callable(sla) else sla
            for entry in self._waiting_entries(practice):
                if entry.sla_breached or entry.waited_s < getattr(limits, entry.level, limits.routine):
                    continue
                if self._bump(entry):
                    breached.append(entry.id)
        for ticket_id in breached:
            self._store.record(ticket_id, TicketStatus.queued, detail={"sla_breached": True}, sla_breached=True)
        return breached

    def _bump(self, entry: QueueEntry) -> bool:
        rank = max(0, LEVEL_RANK.get(entry.level, 2) - 1)
        new_score = rank * LEVEL_SPAN + _epoch_ms(entry.created_at)
        event = self._event("sla_breached", entry.id, practice=entry.practice_id, level=entry.level)
        keys = [self.keys.ticket(entry.id), self.keys.waiting(entry.practice_id or 0),
                self.keys.events_stream, self.keys.events_channel]
        return bool(self._run(self._sla_bump, keys, [entry.id, min(new_score, int(entry.score)), event]))

    def heartbeat(self, secretary_id: int, status: str = "available") -> None:
        """A secretary's page is alive (call every few seconds)."""
        if status not in ("available", "busy", "away"):
            raise ValueError(f"unknown presence status {status!r}")
        pipe = self._redis.pipeline(transaction=True)
        pipe.zadd(self.keys.presence, {str(secretary_id): self._clock.ms()})
        pipe.hset(self.keys.presence_status, str(secretary_id), status)
        pipe.execute()

    def present(self, *, timeout_s: float) -> dict[int, str]:
        """Secretaries whose heartbeat is recent, with their status."""
        since = self._clock.ms() - int(timeout_s * 1000)
        ids = self._redis.zrangebyscore(self.keys.presence, since, "+inf")
        statuses = self._redis.hgetall(self.keys.presence_status)
        status_of = {_text(k): _text(v) for k, v in statuses.items()}
        return {int(_text(i)): status_of.get(_text(i), "available") for i in ids}

    def reap_vanished(self, *, timeout_s: float) -> dict[int, list[str]]:
        """Secretaries silent for `timeout_s`: mark them away and re-offer their tickets with priority."""
        before = self._clock.ms() - int(timeout_s * 1000)
        vanished = [int(_text(i)) for i in self._redis.zrangebyscore(self.keys.presence, "-inf", f"({before}")]
        freed: dict[int, list[str]] = {}
        for secretary_id in vanished:
            tickets = self.held_by(secretary_id)
            for ticket_id in tickets:
                self.release(ticket_id, secretary_id, reason="secretary_vanished")
            self._redis.zrem(self.keys.presence, str(secretary_id))
            self._redis.hset(self.keys.presence_status, str(secretary_id), "away")
            freed[secretary_id] = tickets
        return freed

    # --- rebuild -------------------------------------------------------------------------------------

    def rebuild_from_database(self) -> int:
        """Queue every open ticket the database knows and Redis lost (after a restart); idempotent."""
        restored = 0
        for ticket in self._store.open_tickets():
            claimed = ticket.status in (TicketStatus.claimed, TicketStatus.connected)
            holder = ticket.claimed_by if claimed else None
            if self._push(ticket, status=ticket.status, claimed_by=holder):
                restored += 1
        return restored

    # --- helpers -------------------------------------------------------------------------------------

    def _requeue_ticket(self, ticket_id: str, secretary_id: int, *, reason: str, boosted: bool) -> None:
        practice = self._practice_of(ticket_id)
        raw = self._redis.hgetall(self.keys.ticket(ticket_id))
        entry = self._entry(raw)
        score = priority_score(entry.level, _epoch_ms(entry.created_at), boosted=boosted)
        event = self._event("requeued", ticket_id, practice=practice, user=secretary_id, reason=reason)
        keys = [self.keys.ticket(ticket_id), self.keys.waiting(practice), self.keys.claimed_by(secretary_id),
                self.keys.waiting_practices, self.keys.events_stream, self.keys.events_channel]
        outcome = self._run(self._requeue, keys, [ticket_id, secretary_id, score, event, practice])
        if outcome == 0:
            raise InvalidTransition(f"ticket {ticket_id} is not held by secretary {secretary_id}")

    def _move(self, ticket_id: str, status: str, allowed: tuple[str, ...], secretary_id: int | None) -> bool:
        """Apply a transition on Redis; False when the ticket was already in that state (idempotent)."""
        practice = self._practice_of(ticket_id)
        event = self._event(status, ticket_id, practice=practice, user=secretary_id)
        keys = [self.keys.ticket(ticket_id), self.keys.waiting(practice), self.keys.events_stream,
                self.keys.events_channel]
        terminal = "1" if status in TERMINAL else "0"
        args = [ticket_id, status, ",".join(allowed), "" if secretary_id is None else secretary_id, event,
                terminal, self.keys.prefix]
        outcome = self._run(self._transition, keys, args)
        if outcome == -1:
            raise TicketNotFound(f"ticket {ticket_id} is not in the queue")
        if outcome == 0:
            raise InvalidTransition(f"ticket {ticket_id} cannot become {status} now")
        return outcome == 1

    def _practice_of(self, ticket_id: str) -> str:
        try:
            practice = self._redis.hget(self.keys.ticket(ticket_id), "practice")
        except RedisError as exc:
            raise QueueUnavailable("the queue (Redis) is unreachable") from exc
        if practice is None:
            raise TicketNotFound(f"ticket {ticket_id} is not in the queue")
        return _text(practice)

    def _practices(self) -> list[int]:
        return sorted(int(_text(p)) for p in self._redis.smembers(self.keys.waiting_practices))

    def _run(self, script: Any, keys: list[str], args: list[Any]) -> int:
        try:
            return int(script(keys=keys, args=args))
        except RedisError as exc:
            raise QueueUnavailable("the queue (Redis) is unreachable") from exc

    def _event(self, kind: str, ticket_id: str, **data: Any) -> str:
        return json.dumps({"type": kind, "ticket": ticket_id, "at": self._clock.ms(), **data})


def _ticket_fields(ticket: Ticket, *, status: str, created_ms: int, score: int, claimed_by: int | None) -> list[Any]:
    fields = {
        "id": ticket.id,
        "practice": str(ticket.practice_id or 0),
        "level": ticket.level,
        "kind": ticket.kind,
        "status": status,
        "created_ms": created_ms,
        "score": score,
        "skills": json.dumps(list(ticket.skills)),
        "preferred": json.dumps(list(ticket.preferred_user_ids)),
        "sla_breached": "1" if ticket.sla_breached else "0",
        "claimed_by": "" if claimed_by is None else claimed_by,
    }
    return [item for pair in fields.items() for item in pair]


def _epoch_ms(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
