"""What the flows read in one caller turn: who (practitioner, specialty), when, a name, a date of birth."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rapidfuzz import fuzz

from agent.dialog.datetime_fr import DateTimeParser
from agent.dialog.entities import PersonName, person_name, practitioner_mentions
from agent.dialog.text import normalise
from agent.dialog.when import WhenConstraint
from practice.directory import PractitionerRecord, detect_professions, resolve

NAME_SLIP_SCORE = 80.0
_PARTS = {"matin": "morning", "après-midi": "afternoon", "soir": "evening"}


class Reader:
    """The engine's slot extraction for one call: Duckling dates, the practice directory, names."""

    def __init__(self, parser: DateTimeParser, records: list[PractitionerRecord]) -> None:
        self.parser = parser
        self.records = [r for r in records if r.active]

    def who(self, text: str) -> tuple[str | None, str | None]:
        """(practitioner name, specialty) the caller asked for, either or both None."""
        spans = [s for s in practitioner_mentions(text) if s.kind == "name"]
        resolution = resolve(text, self.records)
        if resolution.kind == "name" and resolution.matches:
            best = resolution.best
            return (best.record.display_name if best else spans[0].text if spans else text), None
        if spans:
            return self._closest(spans[0].text) or spans[0].text, None
        professions = detect_professions(text)
        if professions:
            return None, professions[0]
        return None, None

    def _closest(self, mention: str) -> str | None:
        """"docteur matin" (a recognition slip the directory's stop words hide): the nearest family name."""
        word = normalise(mention).split()[-1]
        scored = [(fuzz.ratio(word, normalise(r.last_name)), r) for r in self.records]
        score, record = max(scored, key=lambda item: item[0], default=(0.0, None))
        return record.display_name if record is not None and score >= NAME_SLIP_SCORE else None

    def when(self, text: str, ref: datetime, lang: str) -> WhenConstraint:
        return self.parser.when(text, ref, lang)

    def birth_date(self, text: str, ref: datetime, lang: str) -> Any:
        found = self.parser.birth_date(text, ref, lang)
        if found is None and lang == "en":
            found = self.parser.birth_date(text, ref, "fr")
        return found

    @staticmethod
    def name(text: str, expected: bool) -> PersonName | None:
        found = person_name(text, expected=expected)
        return found if found is not None and found.last else None


def when_arguments(when: WhenConstraint) -> dict[str, Any]:
    """A WhenConstraint as `find_slots` arguments (ISO dates, HH:MM, 0 = Monday)."""
    query = when.slot_query()
    args: dict[str, Any] = {
        "day": _iso(when.day), "date_from": _iso(when.date_from), "date_to": _iso(when.date_to),
        "part_of_day": _PARTS.get(str(query.get("part_of_day") or "")),
        "not_before": _hm(query.get("not_before")), "not_after": _hm(query.get("not_after")),
        "weekdays": sorted(when.weekdays), "excluded_weekdays": sorted(when.excluded_weekdays),
        "excluded_dates": sorted(d.isoformat() for d in when.excluded_days),
    }
    return {k: v for k, v in args.items() if v not in (None, [])}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _hm(value: Any) -> str | None:
    return value.strftime("%H:%M") if value is not None else None
