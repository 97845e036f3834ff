"""The typed scheduling constraint a caller's words reduce to, and its mapping onto a calendar slot query."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class PartOfDay(StrEnum):
    """Parts of the day as the calendar query names them ('matin', 'après-midi', 'soir')."""

    MORNING = "matin"
    AFTERNOON = "après-midi"
    EVENING = "soir"


@dataclass(frozen=True, slots=True)
class WhenConstraint:
    """What a caller said about when: every field optional, times are Europe/Paris wall-clock times.

    Mapping onto the calendar query (`practice.calendar_types.SlotConstraints`, see `slot_query`):
    `day` -> day; `date_from`/`date_to` (inclusive) -> date_from/date_to; `weekdays` (0 = Monday) ->
    weekdays; `part_of_day` -> part_of_day ('matin'/'après-midi'/'soir', parsed by the calendar);
    `not_before`/`not_after` (inclusive bounds on the slot's start) -> not_before/not_after;
    `excluded_weekdays` -> excluded_weekdays. `at` (a requested time, `approximate` for "vers dix
    heures") becomes a not_before/not_after window around it. `excluded_days` has no calendar
    counterpart: the dialog filters offered slots with `allows`.
    """

    day: date | None = None
    date_from: date | None = None
    date_to: date | None = None
    weekdays: frozenset[int] = field(default_factory=frozenset)
    part_of_day: PartOfDay | None = None
    not_before: time | None = None
    not_after: time | None = None
    at: time | None = None
    approximate: bool = False
    excluded_weekdays: frozenset[int] = field(default_factory=frozenset)
    excluded_days: frozenset[date] = field(default_factory=frozenset)

    @property
    def exact(self) -> datetime | None:
        """The precise moment asked for ("lundi 14h30"), when both a day and a time were given."""
        if self.day is None or self.at is None:
            return None
        return datetime.combine(self.day, self.at, tzinfo=PARIS)

    def is_empty(self) -> bool:
        return self == WhenConstraint()

    def merged(self, newer: WhenConstraint) -> WhenConstraint:
        """This constraint updated by a later utterance: newer fields win, exclusions accumulate."""
        updates = {name: getattr(newer, name) for name in _SCALARS if getattr(newer, name) not in (None, False)}
        if newer.day or newer.date_from or newer.weekdays:
            updates |= {"day": newer.day, "date_from": newer.date_from, "date_to": newer.date_to}
            updates["weekdays"] = newer.weekdays
        merged = replace(self, **updates)
        return replace(
            merged,
            excluded_weekdays=self.excluded_weekdays | newer.excluded_weekdays,
            excluded_days=self.excluded_days | newer.excluded_days,
        )

    def slot_query(self, window_minutes: int = 0) -> dict[str, object]:
        """Keyword arguments for `SlotConstraints(**query)`; `at` widens to ±60 min when approximate."""
        not_before, not_after = self.not_before, self.not_after
        if self.at is not None:
            half = 60 if self.approximate else window_minutes
            not_before, not_after = _around(self.at, half)
        query: dict[str, object] = {
            "day": self.day,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "weekdays": self.weekdays,
            "part_of_day": self.part_of_day.value if self.part_of_day else None,
            "not_before": not_before,
            "not_after": not_after,
            "excluded_weekdays": self.excluded_weekdays,
        }
        return {key: value for key, value in query.items() if value not in (None, frozenset())}

    def allows(self, moment: datetime) -> bool:
        """Whether an offered slot honours the day-level exclusions (weekdays and specific days)."""
        local = moment.astimezone(PARIS) if moment.tzinfo else moment
        return local.weekday() not in self.excluded_weekdays and local.date() not in self.excluded_days


_SCALARS = ("part_of_day", "not_before", "not_after", "at", "approximate")


def _around(at: time, half_minutes: int) -> tuple[time, time]:
    anchor = datetime.combine(date(2000, 1, 1), at)
    low = max(anchor - timedelta(minutes=half_minutes), anchor.replace(hour=0, minute=0))
    high = min(anchor + timedelta(minutes=half_minutes), anchor.replace(hour=23, minute=59))
    return low.time(), high.time()
