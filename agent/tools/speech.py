"""Authored sentences by name with `str.format` fields, and dates, times and lists as the agent says them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

import prompts

_WEEKDAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


def say(key: str, lang: str = "fr", /, **fields: Any) -> str:
    """The authored sentence `key` in `lang` with its `{field}`s filled (see prompts/README.md)."""
    template = prompts.text(key, lang)
    return template.format(**fields) if fields else template


def weekday_name(day: int, lang: str) -> str:
    return _WEEKDAYS[_lang(lang)][day]


def clock(moment: time | datetime, lang: str) -> str:
    """9 h 40 / 9:40; a round hour as "9 h" / "9:00"."""
    if moment.minute == 0:
        return say("time_h", lang, hour=moment.hour)
    return say("time_hm", lang, hour=moment.hour, minute=moment.minute)


def spoken_date(day: date, lang: str) -> str:
    """"12 mars 1948" / "12 March 1948"."""
    return f"{day.day} {_MONTHS[_lang(lang)][day.month - 1]} {day.year}"


def spoken_moment(moment: datetime, lang: str) -> str:
    """"mardi 25 novembre à 9 h 40" / "Tuesday 25 November at 9:40"."""
    code = _lang(lang)
    return say("date_at", code, weekday=_WEEKDAYS[code][moment.weekday()], day=moment.day,
               month=_MONTHS[code][moment.month - 1], time=clock(moment, code))


def spoken_list(items: Sequence[str], lang: str) -> str:
    """"a, b ou c" / "a, b or c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {say('list_or', lang)} " + items[-1]


def _lang(lang: str) -> str:
    return lang if lang in _WEEKDAYS else "fr"
