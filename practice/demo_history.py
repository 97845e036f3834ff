"""The demo practice's recent call history: eight weeks of synthetic calls up to yesterday, seeded once."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from practice import calendar_store as store
from practice.models import Call, Patient
from practice.slots import GridCache, PractitionerPlan, Window, at_minute, overlaps
from practice.synthetic import Slot, SyntheticSpec, Target, generate

HISTORY_DAYS = 56
HISTORY_TRANSPORT = "demo-history"  # marks the seeded calls: how a later start knows which days are done
CALLS_PER_WEEKDAY = 90.0  # a seven-practitioner maison de santé on an ordinary weekday
BOOKING_MEAN_DAYS = 3.0  # how far ahead a caller books, on average
BOOKING_MAX_DAYS = 21
SAME_DAY_MARGIN_MIN = 30  # a same-day booking starts at least this long after the call


def seed_history(engine: Engine, practice_id: int, *, patient_phones: Sequence[str], today: date, seed: int) -> int:
    """Add the practice's missing days of history (the last HISTORY_DAYS days up to yesterday); calls written."""
    with engine.connect() as conn:
        practice = store.load_practice(conn, practice_id)
        tz = ZoneInfo(practice.timezone)
        first = first_missing_day(conn, practice_id, tz, today)
        if first >= today:
            return 0
        target = _target(conn, practice, patient_phones, first, today)
    spec = SyntheticSpec(seed=seed, start=first, days=(today - first).days, calls_per_weekday=CALLS_PER_WEEKDAY,
                         timezone=practice.timezone, transport=HISTORY_TRANSPORT, daily_seed=True,
                         horizon=datetime.combine(today, time(0), tz).astimezone(UTC))
    return generate(engine, spec, target=target).calls


def first_missing_day(conn: Connection, practice_id: int, tz: ZoneInfo, today: date) -> date:
    """The day after the last seeded call, within the window (its first day when nothing was seeded yet)."""
    window = today - timedelta(days=HISTORY_DAYS)
    last = conn.execute(
        sa.select(sa.func.max(col(Call.started_at)))
        .where(col(Call.practice_id) == practice_id, col(Call.transport) == HISTORY_TRANSPORT)
    ).scalar()
    if last is None:
        return window
    if last.tzinfo is None:  # SQLite hands back naive UTC
        last = last.replace(tzinfo=UTC)
    return max(window, last.astimezone(tz).date() + timedelta(days=1))


def _target(conn: Connection, practice: store.PracticeRow, phones: Sequence[str], first: date, today: date) -> Target:
    """The practice's own active practitioners, patients and calendar, from `first` to yesterday."""
    records = [r for r in store.load_records(conn, practice.id) if r.active]
    last = today - timedelta(days=1)
    plans = store.load_plans(conn, records, first, last)
    grid = GridCache(store.load_practice_plan(conn, practice, first, last))
    slots = PastSlots(ZoneInfo(practice.timezone), last, plans, grid, store.load_busy(conn, plans, first, last))
    patients = conn.scalars(
        sa.select(col(Patient.id)).where(col(Patient.phone).in_(list(phones))).order_by(col(Patient.id))
    ).all()
    doctors = tuple(r.last_name for r in records if r.title == "Dr") or tuple(r.last_name for r in records)
    return Target(practice.id, tuple(plans), tuple(int(p) for p in patients if p is not None), doctors, slots)


@dataclass
class PastSlots:
    """Free slots of a practitioner's own grid, from the booking's day to yesterday (never in the future)."""

    tz: ZoneInfo
    last_day: date
    plans: dict[int, PractitionerPlan]
    grid: GridCache
    busy: store.BusyIndex
    booked: dict[tuple[int, date], list[Window]] = field(default_factory=dict)

    def __call__(self, rng: random.Random, practitioner_id: int, booked_at: datetime, /) -> Slot | None:
        local = booked_at.astimezone(self.tz).replace(tzinfo=None)
        span = min((self.last_day - local.date()).days, BOOKING_MAX_DAYS)
        if span < 0:
            return None
        ahead = min(int(rng.expovariate(1 / BOOKING_MEAN_DAYS)), span)
        earliest = local.hour * 60 + local.minute + SAME_DAY_MARGIN_MIN
        for offset in (*range(ahead, span + 1), *range(ahead - 1, -1, -1)):
            day = local.date() + timedelta(days=offset)
            free = self._free(practitioner_id, day, earliest if offset == 0 else 0)
            if free:
                return self._take(practitioner_id, day, rng.choice(free))
        return None

    def _free(self, practitioner_id: int, day: date, earliest: int) -> list[Window]:
        plan = self.plans[practitioner_id]
        kind = plan.default_kind
        starts = self.grid.starts(plan, day, kind.minutes if kind else None)
        busy = sorted([*self.busy.get(practitioner_id, day), *self.booked.get((practitioner_id, day), [])])
        return [(start, length) for start, length in starts if start >= earliest and not overlaps(start, length, busy)]

    def _take(self, practitioner_id: int, day: date, window: Window) -> Slot:
        start, length = window
        self.booked.setdefault((practitioner_id, day), []).append((start, start + length))
        kind = self.plans[practitioner_id].default_kind
        return Slot(at_minute(day, start), at_minute(day, start + length), kind.id if kind else None,
                    kind.name if kind else "")
