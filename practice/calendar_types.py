"""Value types of the calendar service: search constraints, offered slots, appointments and patients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from practice.errors import InvalidRequest
from practice.textnorm import normalise

MAX_HORIZON_DAYS = 366


class PartOfDay(StrEnum):
    morning = "morning"
    afternoon = "afternoon"
    evening = "evening"

    @classmethod
    def parse(cls, text: str | PartOfDay) -> PartOfDay:
        """'matin', 'après-midi', 'soir', 'fin de journée', 'morning'... -> a PartOfDay."""
        if isinstance(text, PartOfDay):
            return text
        key = normalise(text)
        for words, part in _PART_WORDS:
            if any(w in key for w in words):
                return part
        raise InvalidRequest("Unknown part of day; expected morning, afternoon or evening.")

    def contains(self, minute: int) -> bool:
        """Whether a slot starting `minute` minutes after midnight belongs to this part of the day."""
        low, high = _PART_BOUNDS[self]
        return low <= minute < high


# Order matters: 'apres midi' must win over 'midi'; evening overlaps the end of the afternoon on purpose.
_PART_WORDS: tuple[tuple[tuple[str, ...], PartOfDay], ...] = (
    (("apres midi", "apresmidi", "afternoon", "aprem"), PartOfDay.afternoon),
    (("soir", "soiree", "fin de journee", "evening", "night"), PartOfDay.evening),
    (("matin", "matinee", "morning"), PartOfDay.morning),
)
_PART_BOUNDS = {
    PartOfDay.morning: (0, 13 * 60),
    PartOfDay.afternoon: (13 * 60, 18 * 60),
    PartOfDay.evening: (17 * 60, 24 * 60),
}


@dataclass(frozen=True, slots=True)
class SlotConstraints:
    """What the caller asked for; every field optional. Times are the practice's local wall clock.

    `not_before`/`not_after` bound the slot's start time (inclusive); `date_to` is inclusive;
    weekdays are 0 = Monday; `excluded_days` are dates the caller cannot come ("pas le 12");
    `consultation_type` is an id or a name ("première consultation").
    """

    day: date | None = None
    date_from: date | None = None
    date_to: date | None = None
    part_of_day: PartOfDay | None = None
    not_before: time | None = None
    not_after: time | None = None
    weekdays: frozenset[int] = field(default_factory=frozenset)
    excluded_weekdays: frozenset[int] = field(default_factory=frozenset)
    excluded_days: frozenset[date] = field(default_factory=frozenset)
    consultation_type: int | str | None = None
    duration_minutes: int | None = None
    horizon_days: int = 92

    def __post_init__(self) -> None:
        if isinstance(self.part_of_day, str) and not isinstance(self.part_of_day, PartOfDay):
            object.__setattr__(self, "part_of_day", PartOfDay.parse(self.part_of_day))
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "excluded_weekdays", frozenset(self.excluded_weekdays))
        object.__setattr__(self, "excluded_days", frozenset(self.excluded_days))
        self._validate()

    def _validate(self) -> None:
        if any(not 0 <= d <= 6 for d in self.weekdays | self.excluded_weekdays):
            raise InvalidRequest("Weekdays go from 0 (Monday) to 6 (Sunday).")
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise InvalidRequest("The date range ends before it starts.")
        if self.duration_minutes is not None and not 5 <= self.duration_minutes <= 240:
            raise InvalidRequest("A consultation lasts between 5 and 240 minutes.")
        if not 1 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise InvalidRequest("The search horizon must be between 1 and 366 days.")

    def first_day(self, today: date) -> date:
        start = self.day or self.date_from or today
        return max(start, today)

    def last_day(self, today: date) -> date:
        if self.day:
            return self.day
        start = self.date_from or today
        horizon_end = max(start, today) + timedelta(days=self.horizon_days - 1)
        return min(self.date_to, horizon_end) if self.date_to else horizon_end

    def allows_day(self, day: date) -> bool:
        weekday = day.weekday()
        if weekday in self.excluded_weekdays or day in self.excluded_days:
            return False
        return not self.weekdays or weekday in self.weekdays

    def allows_minute(self, minute: int) -> bool:
        if self.part_of_day is not None and not self.part_of_day.contains(minute):
            return False
        if self.not_before is not None and minute < self.not_before.hour * 60 + self.not_before.minute:
            return False
        return self.not_after is None or minute <= self.not_after.hour * 60 + self.not_after.minute


@dataclass(frozen=True, slots=True)
class Slot:
    """A free slot offered to the caller (local wall-clock times)."""

    practitioner_id: int
    practitioner_name: str
    starts_at: datetime
    ends_at: datetime
    consultation_type_id: int | None = None


@dataclass(frozen=True, slots=True)
class AppointmentInfo:
    """An appointment as the calendar reports it; `existing` when an idempotent call found it already there."""

    id: int
    practice_id: int
    practitioner_id: int
    practitioner_name: str
    patient_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    consultation_type_id: int | None = None
    reason: str = ""
    booked_by: str = "agent"
    rescheduled_from_id: int | None = None
    existing: bool = False


@dataclass(frozen=True, slots=True)
class PatientInfo:
    id: int
    first_name: str
    last_name: str
    birth_date: date | None
    phone: str
    created: bool = False
