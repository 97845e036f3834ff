"""Pure slot arithmetic: a practitioner's bookable grid for a day, its free slots, and a spread-out offer."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from practice.directory import PractitionerRecord

DAY_MINUTES = 24 * 60
Window = tuple[int, int]
"""[start, end) in minutes after local midnight."""

_SPACING_MINUTES = 60
HALF_DAYS: tuple[Window, Window] = ((0, 13 * 60), (13 * 60, DAY_MINUTES))
_POOL_CAP = 5000


@dataclass(frozen=True, slots=True)
class RuleWindow:
    start: int
    end: int
    step: int


@dataclass(frozen=True, slots=True)
class ConsultationKind:
    id: int
    name: str
    minutes: int
    is_default: bool


@dataclass(slots=True)
class PractitionerPlan:
    """A practitioner's static schedule: weekly rules, absences and extra openings, consultation types."""

    record: PractitionerRecord
    rules: dict[int, list[RuleWindow]] = field(default_factory=dict)
    absences: list[tuple[datetime, datetime]] = field(default_factory=list)
    extras: list[tuple[datetime, datetime]] = field(default_factory=list)
    kinds: list[ConsultationKind] = field(default_factory=list)

    @property
    def default_step(self) -> int:
        steps = [rule.step for rules in self.rules.values() for rule in rules]
        return min(steps) if steps else 20

    @property
    def default_kind(self) -> ConsultationKind | None:
        defaults = [k for k in self.kinds if k.is_default]
        return defaults[0] if defaults else None


@dataclass(frozen=True, slots=True)
class PracticePlan:
    """The practice's opening windows per weekday and the days it is closed (closures and holidays)."""

    opening: dict[int, list[Window]]
    closed_days: frozenset[date]

    def is_open(self, day: date, start: int, end: int) -> bool:
        if day in self.closed_days:
            return False
        return any(low <= start and end <= high for low, high in self.opening.get(day.weekday(), ()))


def minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def at_minute(day: date, minute: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(minutes=minute)


def _intersect(window: Window, others: Iterable[Window]) -> list[Window]:
    low, high = window
    return [(max(low, a), min(high, b)) for a, b in others if max(low, a) < min(high, b)]


def _grid(anchor: int, step: int, segment: Window, duration: int) -> range:
    low, high = segment
    first = anchor if low <= anchor else anchor + -(-(low - anchor) // step) * step
    return range(first, high - duration + 1, step)


def _clip_to_day(interval: tuple[datetime, datetime], day: date) -> Window | None:
    midnight = datetime.combine(day, time())
    start = max(int((interval[0] - midnight).total_seconds() // 60), 0)
    end = min(int(-(-(interval[1] - midnight).total_seconds() // 60)), DAY_MINUTES)
    return (start, end) if start < end else None


def clip_all(intervals: Iterable[tuple[datetime, datetime]], day: date) -> list[Window]:
    return sorted(w for i in intervals if (w := _clip_to_day(i, day)) is not None)


def rule_grid(practice: PracticePlan, plan: PractitionerPlan, weekday: int, duration: int | None) -> dict[int, int]:
    """{start: length} of the weekly rules of a weekday, cut by the practice's opening windows."""
    found: dict[int, int] = {}
    opening = practice.opening.get(weekday, [])
    for rule in plan.rules.get(weekday, []):
        length = duration or rule.step
        for segment in _intersect((rule.start, rule.end), opening):
            found.update(dict.fromkeys(_grid(rule.start, rule.step, segment, length), length))
    return found


def extra_grid(plan: PractitionerPlan, day: date, duration: int | None) -> dict[int, int]:
    """{start: length} of the practitioner's extra openings that day (honoured as they are)."""
    found: dict[int, int] = {}
    step = plan.default_step
    for segment in clip_all(plan.extras, day):
        found.update(dict.fromkeys(_grid(segment[0], step, segment, duration or step), duration or step))
    return found


def grid_starts(practice: PracticePlan, plan: PractitionerPlan, day: date, duration: int | None) -> list[Window]:
    """Every (start, duration) on the practitioner's grid that day, before absences and bookings.

    Rules are cut by the practice's opening windows and skipped on closed days; extra openings
    are explicit decisions and are honoured as they are.
    """
    found = {} if day in practice.closed_days else rule_grid(practice, plan, day.weekday(), duration)
    if plan.extras:
        found |= extra_grid(plan, day, duration)
    return sorted(found.items())


class GridCache:
    """`grid_starts` memoised per practitioner, weekday and duration for the length of one search."""

    def __init__(self, practice: PracticePlan) -> None:
        self.practice = practice
        self._weekly: dict[tuple[int, int, int | None], list[Window]] = {}

    def starts(self, plan: PractitionerPlan, day: date, duration: int | None) -> list[Window]:
        if plan.extras:
            return grid_starts(self.practice, plan, day, duration)
        if day in self.practice.closed_days:
            return []
        key = (plan.record.id, day.weekday(), duration)
        if key not in self._weekly:
            self._weekly[key] = sorted(rule_grid(self.practice, plan, day.weekday(), duration).items())
        return self._weekly[key]


def overlaps(start: int, length: int, busy: Sequence[Window]) -> bool:
    end = start + length
    for low, high in busy:
        if low >= end:
            return False
        if high > start:
            return True
    return False


def first_free(
    starts: Sequence[Window], busy: Sequence[Window], low: int, high: int, accept: Callable[[int], bool]
) -> Window | None:
    """The earliest free (start, length) with low <= start < high that `accept` takes, if any."""
    for index in range(bisect_left(starts, (low, -1)), len(starts)):
        start, length = starts[index]
        if start >= high:
            return None
        if accept(start) and not overlaps(start, length, busy):
            return start, length
    return None


def free_starts(candidates: Iterable[Window], busy: Sequence[Window]) -> list[Window]:
    """The candidates that overlap no busy window (busy sorted by start)."""
    return [(start, length) for start, length in candidates if not overlaps(start, length, busy)]


class FreeSlot(NamedTuple):
    """A free slot found by a search, cheap to build and sort; `order` ranks its practitioner."""

    day: date
    start: int
    order: int
    practitioner_id: int
    length: int
    kind_id: int | None

    @property
    def half_day(self) -> tuple[date, bool]:
        return self.day, self.start < HALF_DAYS[1][0]


@dataclass(slots=True)
class SlotPicker:
    """Choose `limit` slots spread over distinct half-days, earliest first; fill sensibly when scarce."""

    limit: int
    picks: list[FreeSlot] = field(default_factory=list)
    pool: list[FreeSlot] = field(default_factory=list)
    _half_days: set[tuple[date, bool]] = field(default_factory=set)

    @property
    def done(self) -> bool:
        return len(self.picks) >= self.limit

    def offer_day(self, slots: Iterable[FreeSlot]) -> None:
        """Offer one day's free slots, sorted by time then by practitioner order."""
        for slot in slots:
            if self.done:
                return
            key = slot.half_day
            if key not in self._half_days:
                self._half_days.add(key)
                self.picks.append(slot)
            elif len(self.pool) < _POOL_CAP:
                self.pool.append(slot)

    def result(self) -> list[FreeSlot]:
        if not self.done:
            self._fill(spaced=True)
            self._fill(spaced=False)
        return sorted(self.picks)

    def _fill(self, *, spaced: bool) -> None:
        chosen = set(self.picks)
        for slot in self.pool:
            if self.done:
                return
            if slot in chosen or (spaced and self._too_close(slot)):
                continue
            self.picks.append(slot)
            chosen.add(slot)

    def _too_close(self, slot: FreeSlot) -> bool:
        return any(o.day == slot.day and abs(o.start - slot.start) < _SPACING_MINUTES for o in self.picks)
