"""The reports' SQL: every figure is an aggregate computed by the database (PostgreSQL or SQLite)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
    """Calls per outcome, split by whether a human was involved (a ticket, or flagged escalated)."""
    human = sa.or_(col(Ticket.id).is_not(None), col(Call.escalated).is_(True))
    query = (sa.select(col(Call.outcome), human.label("human"), sa.func.count())
             .select_from(Call).outerjoin(Ticket, col(Ticket.id) == col(Call.id))
             .where(*_calls_where(scope)).group_by(col(Call.outcome), human))
    return [(str(o or ""), bool(h), int(n)) for o, h, n in conn.execute(query)]


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


def _waits(conn: Connection, scope: Scope) -> Any:
    """Per ticket: its level and the seconds from its first `queued` event to its first `claimed` event."""
    status, at = col(TicketEvent.status), col(TicketEvent.at)
    queued = sa.func.min(sa.case((status == "queued", at)))
    claimed = sa.func.min(sa.case((status == "claimed", at)))
    firsts = (sa.select(col(Ticket.level).label("level"), queued.label("q"), claimed.label("c"))
              .select_from(TicketEvent).join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
              .where(*_tickets_where(scope), status.in_(("queued", "claimed")))
              .group_by(col(TicketEvent.ticket_id), col(Ticket.level)).subquery())
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
    return [*_window_percentiles(conn, waits, by_level=True), *_window_percentiles(conn, waits, by_level=False)]


def _pg_percentiles(conn: Connection, waits: Any) -> list[WaitFigures]:
    wait = waits.c.wait
    cols = [sa.func.count(), sa.func.avg(wait), *(sa.func.percentile_cont(q).within_group(wait) for q in PERCENTILES)]
    query = sa.select(waits.c.level, sa.func.grouping(waits.c.level), *cols).group_by(
        sa.func.grouping_sets(sa.tuple_(waits.c.level), sa.tuple_()))
    return [WaitFigures(ALL if grouped else str(level), int(n), _num(mean), _num(p50), _num(p95))
            for level, grouped, n, mean, p50, p95 in conn.execute(query) if n]


def _window_percentiles(conn: Connection, waits: Any, *, by_level: bool) -> list[WaitFigures]:
    """Portable percentile_cont: the database numbers the sorted waits and returns only the rows around
    each percentile's position (at most two per percentile), which are interpolated here."""
    part = [waits.c.level] if by_level else []
    level = waits.c.level if by_level else sa.literal(ALL)
    ranked = sa.select(
        level.label("level"), waits.c.wait,
        (sa.func.row_number().over(partition_by=part, order_by=waits.c.wait) - 1).label("rn"),
        sa.func.count().over(partition_by=part).label("n"),
        sa.func.avg(waits.c.wait).over(partition_by=part).label("mean"),
    ).subquery()
    floor_pos = [sa.cast(q * (ranked.c.n - 1), sa.Integer) for q in PERCENTILES]
    near = sa.or_(*(ranked.c.rn == p for p in floor_pos), *(ranked.c.rn == p + 1 for p in floor_pos))
    rows = conn.execute(sa.select(ranked.c.level, ranked.c.rn, ranked.c.wait, ranked.c.n, ranked.c.mean)
                        .where(near).order_by(ranked.c.level, ranked.c.rn))
    grouped: dict[str, tuple[int, float, dict[int, float]]] = {}
    for lvl, rn, wait, n, mean in rows:
        entry = grouped.setdefault(str(lvl), (int(n), float(mean), {}))
        entry[2][int(rn)] = float(wait)
    return [WaitFigures(lvl, n, round(mean, 1), *(_interpolate(values, n, q) for q in PERCENTILES))
            for lvl, (n, mean, values) in grouped.items()]


def _interpolate(values: dict[int, float], n: int, q: float) -> float | None:
    if n == 0:
        return None
    pos = q * (n - 1)
    low = math.floor(pos)
    below = values[low]
    above = values.get(low + 1, below)
    return round(below + (pos - low) * (above - below), 1)


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
