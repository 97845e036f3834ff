"""Slot search: free slots of some practitioners under constraints, spread over half-days."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from rapidfuzz import fuzz

from practice import calendar_store as store
from practice.calendar_types import Slot, SlotConstraints
from practice.errors import UnknownConsultationType
from practice.slots import (
    HALF_DAYS,
    ConsultationKind,
    FreeSlot,
    GridCache,
    PracticePlan,
    PractitionerPlan,
    SlotPicker,
    at_minute,
    first_free,
    free_starts,
)
from practice.textnorm import normalise

_KIND_RATIO = 70.0
_CHUNK_DAYS = (1, 1, 2, 4, 7, 14, 31)


def _day_range(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _chunks(first: date, last: date) -> Iterator[tuple[date, date]]:
    """Growing windows of days, so a search that finds its slots early reads few appointments."""
    start, index = first, 0
    while start <= last:
        size = _CHUNK_DAYS[min(index, len(_CHUNK_DAYS) - 1)]
        end = min(start + timedelta(days=size - 1), last)
        yield start, end
        start, index = end + timedelta(days=1), index + 1


def _enough_half_days(wanted: SlotConstraints, today: date, limit: int) -> bool:
    """Whether the constraints leave at least `limit` half-days, so the fast path can succeed."""
    halves = sum(1 for low, high in HALF_DAYS if any(wanted.allows_minute(m) for m in range(low, high, 5)))
    days = 0
    for day in _day_range(wanted.first_day(today), wanted.last_day(today)):
        days += wanted.allows_day(day)
        if days * halves >= limit:
            return True
    return False


@dataclass(frozen=True, slots=True)
class SlotSearch:
    """One slot search: the practitioners' grids and durations, the constraints, the present."""

    grids: GridCache
    plans: dict[int, PractitionerPlan]
    durations: dict[int, tuple[int | None, int | None]]
    wanted: SlotConstraints
    local_now: datetime

    def earliest(self, day: date, half: tuple[int, int], busy: store.BusyIndex) -> FreeSlot | None:
        """The earliest free slot of a half-day across practitioners (ties: practitioner order)."""
        low = half[0]
        if day == self.local_now.date():
            low = max(low, self.local_now.hour * 60 + self.local_now.minute + 1)
        best: FreeSlot | None = None
        for order, (pid, plan) in enumerate(self.plans.items()):
            kind_id, duration = self.durations[pid]
            high = best.start if best is not None else half[1]
            found = first_free(
                self.grids.starts(plan, day, duration), busy.get(pid, day), low, high, self.wanted.allows_minute
            )
            if found is not None:
                best = FreeSlot(day, found[0], order, pid, found[1], kind_id)
        return best


def _day_slots(
    day: date,
    grids: GridCache,
    plans: dict[int, PractitionerPlan],
    durations: dict[int, tuple[int | None, int | None]],
    busy: store.BusyIndex,
    wanted: SlotConstraints,
    local_now: datetime,
) -> list[FreeSlot]:
    """Every free slot of the day that the constraints allow, sorted by time then practitioner order."""
    after = local_now.hour * 60 + local_now.minute if day == local_now.date() else -1
    found: list[FreeSlot] = []
    for order, (pid, plan) in enumerate(plans.items()):
        kind_id, duration = durations[pid]
        starts = [w for w in grids.starts(plan, day, duration) if w[0] > after and wanted.allows_minute(w[0])]
        if starts:
            found.extend(FreeSlot(day, s, order, pid, n, kind_id) for s, n in free_starts(starts, busy.get(pid, day)))
    found.sort()
    return found


def _as_slots(found: list[FreeSlot], plans: dict[int, PractitionerPlan]) -> list[Slot]:
    slots = []
    for free in found:
        begins = at_minute(free.day, free.start)
        name = plans[free.practitioner_id].record.display_name
        slots.append(Slot(free.practitioner_id, name, begins, begins + timedelta(minutes=free.length), free.kind_id))
    return slots


def durations(
    plans: dict[int, PractitionerPlan], wanted: SlotConstraints, *, single: bool
) -> dict[int, tuple[int | None, int | None]]:
    """Per practitioner: (consultation type id, minutes or None for the rule's grid step)."""
    found = {}
    for pid, plan in plans.items():
        choice = consultation(plan, wanted.consultation_type, wanted.duration_minutes)
        if choice is not None:
            found[pid] = choice
    if not found:
        raise UnknownConsultationType()
    if single and len(found) != len(plans):
        raise UnknownConsultationType()
    return found


def search(
    conn: sa.Connection,
    practice_plan: PracticePlan,
    plans: dict[int, PractitionerPlan],
    durations: dict[int, tuple[int | None, int | None]],
    wanted: SlotConstraints,
    local_now: datetime,
    limit: int,
) -> list[Slot]:
    """Up to `limit` free slots spread over distinct half-days, earliest first, then sensibly filled."""
    grids, searched = GridCache(practice_plan), {pid: plans[pid] for pid in durations}
    search = SlotSearch(grids, searched, durations, wanted, local_now)
    if _enough_half_days(wanted, local_now.date(), limit):
        quick = _half_day_picks(conn, search, limit)
        if quick is not None:
            return _as_slots(sorted(quick), searched)
    picker = SlotPicker(limit)
    for chunk_first, chunk_last in _chunks(wanted.first_day(local_now.date()), wanted.last_day(local_now.date())):
        busy = store.load_busy(conn, searched, chunk_first, chunk_last)
        for day in _day_range(chunk_first, chunk_last):
            if wanted.allows_day(day):
                picker.offer_day(_day_slots(day, grids, searched, durations, busy, wanted, local_now))
            if picker.done:
                return _as_slots(picker.result(), searched)
    return _as_slots(picker.result(), searched)


def _half_day_picks(conn: sa.Connection, search: SlotSearch, limit: int) -> list[FreeSlot] | None:
    """Fast path: the earliest slot of each half-day, in order, until `limit`; None if too few."""
    wanted, today = search.wanted, search.local_now.date()
    picks: list[FreeSlot] = []
    for chunk_first, chunk_last in _chunks(wanted.first_day(today), wanted.last_day(today)):
        busy = store.load_busy(conn, search.plans, chunk_first, chunk_last)
        for day in _day_range(chunk_first, chunk_last):
            if not wanted.allows_day(day):
                continue
            for half in HALF_DAYS:
                best = search.earliest(day, half, busy)
                if best is not None:
                    picks.append(best)
                if len(picks) >= limit:
                    return picks
    return None


def consultation(
    plan: PractitionerPlan, wanted: int | str | None, duration: int | None
) -> tuple[int | None, int | None] | None:
    """(type id, minutes) for a practitioner, or None when it does not offer the requested type."""
    if wanted is None:
        default = plan.default_kind
        if duration is not None or default is None:
            return (default.id if default else None), duration
        return default.id, default.minutes
    kind = _find_kind(plan, wanted)
    if kind is None:
        return None
    return kind.id, duration or kind.minutes


def _find_kind(plan: PractitionerPlan, wanted: int | str) -> ConsultationKind | None:
    if isinstance(wanted, int):
        return next((k for k in plan.kinds if k.id == wanted), None)
    key = normalise(wanted)
    scored = [(fuzz.ratio(key, normalise(k.name)), -index, k) for index, k in enumerate(plan.kinds)]
    best = max(scored, default=None, key=lambda item: item[:2])
    return best[2] if best and best[0] >= _KIND_RATIO else None
