"""The reports' SQL: every figure is an aggregate computed by the database (PostgreSQL or SQLite)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import col

from console.manager.common import Period
from practice.models import Appointment, Call, Practitioner, Ticket, TicketEvent

PERCENTILES = (0.5, 0.95)
ALL = "*"


@dataclass(frozen=True)
class Scope:
    """Which rows a report reads: the practices and the period's UTC bounds."""

    practice_ids: tuple[int, ...]
    span: Period

    @property
    def start(self) -> datetime:
        return self.span.start_utc

    @property
    def end(self) -> datetime:
        return self.span.end_utc


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _calls_where(scope: Scope) -> list[Any]:
    return [col(Call.practice_id).in_(scope.practice_ids), col(Call.started_at) >= scope.start,
            col(Call.started_at) < scope.end]


def _tickets_where(scope: Scope) -> list[Any]:
    return [col(Ticket.practice_id).in_(scope.practice_ids), col(Ticket.created_at) >= scope.start,
            col(Ticket.created_at) < scope.end]


# --- volume ------------------------------------------------------------------------------------------------


def hourly_volume(conn: Connection, scope: Scope) -> list[tuple[datetime, int]]:
    """Calls per UTC hour (at most 24 rows a day); the caller folds them into local weekday × hour."""
    started = col(Call.started_at)
    bucket: Any = (sa.func.date_trunc("hour", sa.func.timezone("UTC", started)) if _is_pg(conn)
                   else sa.func.substr(started, 1, 13))
    query = sa.select(bucket.label("h"), sa.func.count()).where(*_calls_where(scope)).group_by(bucket)
    return [(_utc_hour(h), int(n)) for h, n in conn.execute(query)]


def _utc_hour(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.strptime(str(value), "%Y-%m-%d %H").replace(tzinfo=UTC)


# --- containment and call outcomes -------------------------------------------------------------------------


def outcomes(conn: Connection, scope: Scope) -> list[tuple[str, bool, int]]:
    """Calls per outcome, split by whether a human was involved (flagged escalated, or a ticket exists).

    Two index-friendly aggregates instead of a join of every call: calls by (outcome, escalated), and the
    few calls not flagged escalated that still have a ticket (driven from the tickets of the period).
    """
    flagged = sa.select(col(Call.outcome), col(Call.escalated), sa.func.count()).where(*_calls_where(scope)) \
        .group_by(col(Call.outcome), col(Call.escalated))
    slack = timedelta(days=1)  # a ticket is created during its call
    unflagged = (sa.select(col(Call.outcome), sa.func.count()).select_from(Ticket)
                 .join(Call, col(Call.id) == col(Ticket.id))
                 .where(col(Ticket.created_at) >= scope.start - slack, col(Ticket.created_at) < scope.end + slack,
                        *_calls_where(scope), col(Call.escalated).is_(False))
                 .group_by(col(Call.outcome)))
    moved = {str(o or ""): int(n) for o, n in conn.execute(unflagged)}
    counts: dict[tuple[str, bool], int] = {}
    for outcome, escalated, n in conn.execute(flagged):
        key = str(outcome or "")
        human = bool(escalated)
        shift = 0 if human else moved.get(key, 0)
        counts[(key, human)] = counts.get((key, human), 0) + int(n) - shift
        if shift:
            counts[(key, True)] = counts.get((key, True), 0) + shift
    return [(o, h, n) for (o, h), n in counts.items() if n]


# --- escalations ------------------------------------------------------------------------------------------


def escalations(conn: Connection, scope: Scope) -> list[tuple[str, str, int]]:
    """Hand-offs per level and reason."""
    query = (sa.select(col(Ticket.level), col(Ticket.reason), sa.func.count()).where(*_tickets_where(scope))
             .group_by(col(Ticket.level), col(Ticket.reason)))
    return [(str(level), str(reason or ""), int(n)) for level, reason, n in conn.execute(query)]


def ticket_statuses(conn: Connection, scope: Scope) -> list[tuple[str, str, int]]:
    """Hand-offs per level and current status (abandoned: the caller hung up before anyone picked up)."""
    query = (sa.select(col(Ticket.level), col(Ticket.status), sa.func.count()).where(*_tickets_where(scope))
             .group_by(col(Ticket.level), col(Ticket.status)))
    return [(str(level), str(status), int(n)) for level, status, n in conn.execute(query)]


# --- wait before pick-up ------------------------------------------------------------------------------------


def _first_events(conn: Connection, scope: Scope) -> Any:
    """Per ticket of the scope: its level, first `queued` (q) and first `claimed` (c) instants.

    PostgreSQL: one hash aggregate over the tickets' events. SQLite: two correlated lookups per ticket on the
    (ticket_id, status, at) index, which its planner runs faster than grouping the joined events.
    """
    status, at = col(TicketEvent.status), col(TicketEvent.at)
    if _is_pg(conn):
        return (sa.select(col(Ticket.level).label("level"), sa.func.min(sa.case((status == "queued", at))).label("q"),
                          sa.func.min(sa.case((status == "claimed", at))).label("c"))
                .select_from(TicketEvent).join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
                .where(*_tickets_where(scope), status.in_(("queued", "claimed")))
                .group_by(col(TicketEvent.ticket_id), col(Ticket.level)).subquery())

    def first(name: str) -> Any:
        return (sa.select(sa.func.min(at)).where(col(TicketEvent.ticket_id) == col(Ticket.id), status == name)
                .correlate(Ticket).scalar_subquery())

    # MATERIALIZED: each lookup runs once per ticket, not again for the outer query's NOT NULL tests
    return (sa.select(col(Ticket.level).label("level"), first("queued").label("q"), first("claimed").label("c"))
            .where(*_tickets_where(scope)).cte("firsts").prefix_with("MATERIALIZED"))


def _waits(conn: Connection, scope: Scope) -> Any:
    """Per picked-up ticket: its level and the seconds from its first `queued` to its first `claimed` event."""
    firsts = _first_events(conn, scope)
    if _is_pg(conn):
        seconds: Any = sa.func.extract("epoch", firsts.c.c - firsts.c.q)
    else:
        seconds = (sa.func.julianday(firsts.c.c) - sa.func.julianday(firsts.c.q)) * 86400.0
    return (sa.select(firsts.c.level, seconds.label("wait"))
            .where(firsts.c.c.is_not(None), firsts.c.q.is_not(None)).subquery())


@dataclass(frozen=True)
class WaitFigures:
    level: str
    count: int
    mean: float | None
    p50: float | None
    p95: float | None


def wait_percentiles(conn: Connection, scope: Scope) -> list[WaitFigures]:
    """p50/p95 of the wait before pick-up, per level and for all levels ("*")."""
    waits = _waits(conn, scope)
    if _is_pg(conn):
        return _pg_percentiles(conn, waits)
    return _sorted_percentiles(conn, waits)


def _pg_percentiles(conn: Connection, waits: Any) -> list[WaitFigures]:
    wait = waits.c.wait
    cols = [sa.func.count(), sa.func.avg(wait), *(sa.func.percentile_cont(q).within_group(wait) for q in PERCENTILES)]
    query = sa.select(waits.c.level, sa.func.grouping(waits.c.level), *cols).group_by(
        sa.func.grouping_sets(sa.tuple_(waits.c.level), sa.tuple_()))
    return [WaitFigures(ALL if grouped else str(level), int(n), _num(mean), _num(p50), _num(p95))
            for level, grouped, n, mean, p50, p95 in conn.execute(query) if n]


def _sorted_percentiles(conn: Connection, waits: Any) -> list[WaitFigures]:
    """Portable percentile_cont: the database computes every wait and sorts them; only that one column
    comes back, and the percentiles are read off the sorted lists (per level, and merged for all levels)."""
    per_level: dict[str, list[float]] = {}
    for level, wait in conn.execute(sa.select(waits.c.level, waits.c.wait).order_by(waits.c.level, waits.c.wait)):
        per_level.setdefault(str(level), []).append(float(wait))
    groups = {**per_level, ALL: list(heapq.merge(*per_level.values()))} if per_level else {}
    return [WaitFigures(level, len(values), round(sum(values) / len(values), 1),
                        *(_percentile(values, q) for q in PERCENTILES)) for level, values in groups.items()]


def _percentile(ordered: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (what PostgreSQL's percentile_cont computes)."""
    if not ordered:
        return None
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    above = ordered[min(low + 1, len(ordered) - 1)]
    return round(ordered[low] + (pos - low) * (above - ordered[low]), 1)


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


# --- callbacks ------------------------------------------------------------------------------------------


def callbacks(conn: Connection, scope: Scope, now: datetime) -> list[tuple[str, int, int, int, int, int]]:
    """Per level: callbacks due, made on time, made late, overdue (not made, past due), pending."""
    closed = col(Ticket.closed_at).is_not(None) & (col(Ticket.status) == "closed")
    due = col(Ticket.callback_due)

    def count_if(cond: Any) -> Any:
        return sa.func.sum(sa.case((cond, 1), else_=0))

    query = (sa.select(col(Ticket.level), sa.func.count(), count_if(closed & (col(Ticket.closed_at) <= due)),
                       count_if(closed & (col(Ticket.closed_at) > due)), count_if(~closed & (due < now)),
                       count_if(~closed & (due >= now)))
             .where(*_tickets_where(scope), due.is_not(None)).group_by(col(Ticket.level)))
    return [(str(lvl), int(n), int(a or 0), int(b or 0), int(c or 0), int(d or 0))
            for lvl, n, a, b, c, d in conn.execute(query)]


# --- appointments -------------------------------------------------------------------------------------------


def appointments(conn: Connection, scope: Scope) -> list[tuple[int, str, str, int, int]]:
    """Appointments booked in the period per practitioner and by whom (agent / human), with cancellations."""
    cancelled = sa.func.sum(sa.case((col(Appointment.status) == "cancelled", 1), else_=0))
    query = (sa.select(col(Appointment.practitioner_id), col(Appointment.booked_by), sa.func.count(), cancelled)
             .where(col(Appointment.practice_id).in_(scope.practice_ids), col(Appointment.created_at) >= scope.start,
                    col(Appointment.created_at) < scope.end)
             .group_by(col(Appointment.practitioner_id), col(Appointment.booked_by)))
    rows = list(conn.execute(query))
    names = practitioner_names(conn, [int(r[0]) for r in rows])
    return [(int(p), names.get(int(p), str(p)), str(by), int(n), int(c or 0)) for p, by, n, c in rows]


def practitioner_names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = sa.select(col(Practitioner.id), col(Practitioner.title), col(Practitioner.first_name),
                      col(Practitioner.last_name)).where(col(Practitioner.id).in_(sorted(set(ids))))
    return {int(i or 0): f"{t} {f} {n}".strip() for i, t, f, n in conn.execute(query)}
