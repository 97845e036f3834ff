"""Pure slot arithmetic: a practitioner's bookable grid for a day, its free slots, and a spread-out offer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from practice.calendar_types import Slot
from practice.directory import PractitionerRecord

DAY_MINUTES = 24 * 60
Window = tuple[int, int]
"""[start, end) in minutes after local midnight."""

_SPACING_MINUTES = 60
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


def grid_starts(practice: PracticePlan, plan: PractitionerPlan, day: date, duration: int | None) -> list[Window]:
    """Every (start, duration) on the practitioner's grid that day, before absences and bookings.

    Rules are cut by the practice's opening windows and skipped on closed days; extra openings
    are explicit decisions and are honoured as they are.
    """
    found: dict[int, int] = {}
    if day not in practice.closed_days:
        opening = practice.opening.get(day.weekday(), [])
        for rule in plan.rules.get(day.weekday(), []):
            length = duration or rule.step
            for segment in _intersect((rule.start, rule.end), opening):
                found.update(dict.fromkeys(_grid(rule.start, rule.step, segment, length), length))
    for segment in clip_all(plan.extras, day):
        step = plan.default_step
        length = duration or step
        found.update(dict.fromkeys(_grid(segment[0], step, segment, length), length))
    return sorted(found.items())


def overlaps(start: int, length: int, busy: Sequence[Window]) -> bool:
    end = start + length
    for low, high in busy:
        if low >= end:
            return False
        if high > start:
            return True
    return False


def free_starts(candidates: Iterable[Window], busy: Sequence[Window]) -> list[Window]:
    """The candidates that overlap no busy window (busy sorted by start)."""
    return [(start, length) for start, length in candidates if not overlaps(start, length, busy)]


def half_day(slot: Slot) -> tuple[date, bool]:
    return slot.starts_at.date(), slot.starts_at.hour < 13


@dataclass(slots=True)
class SlotPicker:
    """Choose `limit` slots spread over distinct half-days, earliest first; fill sensibly when scarce."""

    limit: int
    picks: list[Slot] = field(default_factory=list)
    pool: list[Slot] = field(default_factory=list)
    _half_days: set[tuple[date, bool]] = field(default_factory=set)

    @property
    def done(self) -> bool:
        return len(self.picks) >= self.limit

    def offer_day(self, slots: Iterable[Slot]) -> None:
        """Offer one day's free slots, sorted by time then by practitioner order."""
        for slot in slots:
            key = half_day(slot)
            if not self.done and key not in self._half_days:
                self._half_days.add(key)
                self.picks.append(slot)
            elif len(self.pool) < _POOL_CAP:
                self.pool.append(slot)

    def result(self) -> list[Slot]:
        if not self.done:
            self._fill(spaced=True)
            self._fill(spaced=False)
        return sorted(self.picks, key=lambda s: (s.starts_at, s.practitioner_id))

    def _fill(self, *, spaced: bool) -> None:
        for slot in self.pool:
            if self.done:
                return
            if slot in self.picks or (spaced and self._too_close(slot)):
                continue
            self.picks.append(slot)

    def _too_close(self, slot: Slot) -> bool:
        gap = timedelta(minutes=_SPACING_MINUTES)
        return any(abs(slot.starts_at - other.starts_at) < gap for other in self.picks)
