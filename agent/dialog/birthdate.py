"""Dates of birth from digit text ("12/03/1948", "3 mai 56", "May 3rd, 1956"): never in the future."""

from __future__ import annotations

import re
from datetime import date

from agent.dialog.text import normalise

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "fev": 2, "mar": 3, "apr": 4, "avr": 4, "jun": 6, "jul": 7, "juil": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(?P<d>\d{1,2}|1er|premier)(?:st|nd|rd|th|er|e)?"
_YEAR = r"(?P<y>\d{4}|\d{2})"
_PATTERNS = (
    re.compile(rf"\b(?P<d>\d{{1,2}}) ?[/.-] ?(?P<m>\d{{1,2}}) ?[/.-] ?{_YEAR}\b"),
    re.compile(rf"\b(?P<d>\d{{1,2}}) (?P<m>\d{{1,2}}) {_YEAR}\b"),
    re.compile(rf"\b{_DAY} (?:of )?(?P<mn>{_MONTH}) {_YEAR}\b"),
    re.compile(rf"\b(?P<mn>{_MONTH}) {_DAY} {_YEAR}\b"),
)


def birth_date_from_digits(text: str, today: date) -> date | None:
    """The first day-month-year in `text` (numbers already as digits) that makes a plausible birth date."""
    key = normalise(text).replace("/", " / ").replace("  ", " ")
    key = re.sub(r"(\d) / (\d)", r"\1/\2", key)
    for pattern in _PATTERNS:
        for match in pattern.finditer(key):
            found = _to_date(match.groupdict(), today)
            if found is not None:
                return found
    return None


def _to_date(groups: dict[str, str | None], today: date) -> date | None:
    day_text = groups["d"] or ""
    day = 1 if day_text in ("1er", "premier") else int(day_text)
    month_digits = groups.get("m")
    month = int(month_digits) if month_digits else MONTHS[groups["mn"] or ""]
    year_text = groups["y"] or ""
    year = int(year_text) if len(year_text) == 4 else _century(int(year_text), day, month, today)
    try:
        return plausible_birth_date(date(year, month, day), today)
    except ValueError:
        return None


def _century(two_digits: int, day: int, month: int, today: date) -> int:
    """'56' -> 1956; '20' -> 2020 if that is not in the future, else 1920."""
    recent = 2000 + two_digits
    try:
        return recent if date(recent, month, day) <= today else recent - 100
    except ValueError:
        return recent if recent <= today.year else recent - 100


def plausible_birth_date(found: date, today: date) -> date | None:
    """None for a date in the future or more than 125 years ago."""
    return found if today.replace(year=today.year - 125) <= found <= today else None
