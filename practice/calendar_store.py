"""SQL reads of the calendar: a practice's static schedule and the busy windows of a date range."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
import sqlalchemy as sa
from sqlmodel import SQLModel

from practice.directory import PractitionerRecord
from practice.errors import UnknownPractice
from practice.models import AppointmentStatus, ExceptionKind
from practice.slots import ConsultationKind, PracticePlan, PractitionerPlan, RuleWindow, Window, clip_all, minutes

MAX_DURATION = timedelta(minutes=240)


def table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


PRACTICE = table("practice")
PRACTITIONER = table("practitioner")
APPOINTMENT = table("appointment")
OPENING = table("opening_hours")
CLOSURE = table("practice_closure")
RULE = table("availability_rule")
EXCEPTION = table("availability_exception")
KIND = table("consultation_type")


@dataclass(frozen=True, slots=True)
class PracticeRow:
    """What the calendar needs of a practice row."""

    id: int
    timezone: str
    holiday_country: str
    holiday_subdivision: str | None


def load_practice(conn: sa.Connection, practice_id: int) -> PracticeRow:
    c = PRACTICE.c
    query = sa.select(c.id, c.timezone, c.holiday_country, c.holiday_subdivision).where(c.id == practice_id)
    row = conn.execute(query).first()
    if row is None:
        raise UnknownPractice()
    return PracticeRow(*row)


def load_records(conn: sa.Connection, practice_id: int) -> list[PractitionerRecord]:
    """Every practitioner of the practice (active or not), in id order."""
    c = PRACTITIONER.c
    query = sa.select(c.id, c.title, c.first_name, c.last_name, c.profession, c.specialty, c.active)
    rows = conn.execute(query.where(c.practice_id == practice_id).order_by(c.id)).all()
    return [PractitionerRecord(*row) for row in rows]


def load_records_by_id(conn: sa.Connection, ids: Sequence[int]) -> list[PractitionerRecord]:
    c = PRACTITIONER.c
    query = sa.select(c.id, c.title, c.first_name, c.last_name, c.profession, c.specialty, c.active)
    return [PractitionerRecord(*row) for row in conn.execute(query.where(c.id.in_(list(ids))).order_by(c.id))]


@lru_cache(maxsize=64)
def holiday_days(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays of a country (and subdivision, e.g. Alsace-Moselle) for one year."""
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=[year]).keys())


def load_practice_plan(conn: sa.Connection, practice: PracticeRow, first: date, last: date) -> PracticePlan:
    c = OPENING.c
    opening: dict[int, list[Window]] = defaultdict(list)
    for weekday, opens, closes in conn.execute(
        sa.select(c.weekday, c.opens, c.closes).where(c.practice_id == practice.id).order_by(c.opens)
    ):
        opening[weekday].append((minutes(opens), minutes(closes) if closes != time(0) else 24 * 60))
    k = CLOSURE.c
    closed = set(
        conn.scalars(sa.select(k.day).where(k.practice_id == practice.id, k.day >= first, k.day <= last)).all()
    )
    for year in range(first.year, last.year + 1):
        closed |= holiday_days(practice.holiday_country or "FR", practice.holiday_subdivision, year)
    return PracticePlan(dict(opening), frozenset(closed))


def load_plans(
    conn: sa.Connection, records: Sequence[PractitionerRecord], first: date, last: date
) -> dict[int, PractitionerPlan]:
    """Rules, consultation types, absences and extra openings of the given practitioners."""
    plans = {r.id: PractitionerPlan(r) for r in records}
    ids = list(plans)
    _load_rules(conn, ids, plans)
    _load_kinds(conn, ids, plans)
    _load_exceptions(conn, ids, plans, first, last)
    return plans


def _load_rules(conn: sa.Connection, ids: list[int], plans: dict[int, PractitionerPlan]) -> None:
    c = RULE.c
    query = sa.select(c.practitioner_id, c.weekday, c.starts, c.ends, c.slot_minutes)
    for pid, weekday, starts, ends, step in conn.execute(query.where(c.practitioner_id.in_(ids)).order_by(c.starts)):
        end = minutes(ends) if ends != time(0) else 24 * 60
        plans[pid].rules.setdefault(weekday, []).append(RuleWindow(minutes(starts), end, step))


def _load_kinds(conn: sa.Connection, ids: list[int], plans: dict[int, PractitionerPlan]) -> None:
    c = KIND.c
    query = sa.select(c.practitioner_id, c.id, c.name, c.duration_minutes, c.is_default)
    for pid, kid, name, duration, is_default in conn.execute(query.where(c.practitioner_id.in_(ids)).order_by(c.id)):
        plans[pid].kinds.append(ConsultationKind(kid, name, duration, bool(is_default)))


def _load_exceptions(
    conn: sa.Connection, ids: list[int], plans: dict[int, PractitionerPlan], first: date, last: date
) -> None:
    c = EXCEPTION.c
    start, end = datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())
    query = sa.select(c.practitioner_id, c.kind, c.starts_at, c.ends_at).where(
        c.practitioner_id.in_(ids), c.starts_at < end, c.ends_at > start
    )
    for pid, kind, starts_at, ends_at in conn.execute(query.order_by(c.starts_at)):
        target = plans[pid].extras if kind == ExceptionKind.extra else plans[pid].absences
        target.append((starts_at, ends_at))


def active_appointments_query(
    ids: Iterable[int], start: datetime, end: datetime, *, exclude_id: int | None = None
) -> sa.Select[int, datetime, datetime]:
    """Non-cancelled appointments overlapping [start, end); uses the (practitioner, starts_at) index."""
    c = APPOINTMENT.c
    query = sa.select(c.practitioner_id, c.starts_at, c.ends_at).where(
        c.practitioner_id.in_(list(ids)),
        c.starts_at >= start - MAX_DURATION,
        c.starts_at < end,
        c.ends_at > start,
        c.status != AppointmentStatus.cancelled.value,
    )
    if exclude_id is not None:
        query = query.where(c.id != exclude_id)
    return query


class BusyIndex:
    """Busy windows (appointments and absences) of practitioners, per day, sorted by start."""

    def __init__(self, plans: dict[int, PractitionerPlan]) -> None:
        self._plans = plans
        self._by_day: dict[tuple[int, date], list[Window]] = defaultdict(list)
        self._sorted: dict[tuple[int, date], list[Window]] = {}

    def add(self, pid: int, starts_at: datetime, ends_at: datetime) -> None:
        day = starts_at.date()
        if ends_at.date() == day:
            self._by_day[(pid, day)].append(
                (starts_at.hour * 60 + starts_at.minute, ends_at.hour * 60 + ends_at.minute + (ends_at.second > 0))
            )
            return
        while datetime.combine(day, time()) < ends_at:  # spans midnight: rare, clip day by day
            self._by_day[(pid, day)].extend(clip_all([(starts_at, ends_at)], day))
            day += timedelta(days=1)

    def get(self, pid: int, day: date) -> list[Window]:
        key = (pid, day)
        if key not in self._sorted:
            windows = self._by_day.get(key, [])
            absences = self._plans[pid].absences
            self._sorted[key] = sorted([*windows, *clip_all(absences, day)]) if absences else sorted(windows)
        return self._sorted[key]


def load_busy(
    conn: sa.Connection,
    plans: dict[int, PractitionerPlan],
    first: date,
    last: date,
    *,
    exclude_id: int | None = None,
) -> BusyIndex:
    """The busy windows of `plans`' practitioners from `first` to `last` (inclusive)."""
    start, end = datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())
    index = BusyIndex(plans)
    for pid, starts_at, ends_at in conn.execute(active_appointments_query(plans, start, end, exclude_id=exclude_id)):
        index.add(pid, starts_at, ends_at)
    return index
