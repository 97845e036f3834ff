"""French and English dates, times, intervals and birth dates from caller speech, with Duckling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import duckling

from agent.dialog.birthdate import birth_date_from_digits, plausible_birth_date
from agent.dialog.text import digits_of_words, normalise
from agent.dialog.when import PARIS, PartOfDay, WhenConstraint

ZONEINFO_DIR = "/usr/share/zoneinfo"
_WEEKDAYS = (
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
_WEEKDAY_ONLY = re.compile(rf"^(?:(?:le|la|les|on|the)\s+)?(?:{_WEEKDAYS})s?(?:\s+(?:prochain|next|qui vient))?$")
_MONTHS = re.compile(
    r"\b(?:janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|january|february|"
    r"march|april|may|june|july|august|september|october|november|december)\b|\d{1,2}/\d{1,2}"
)
_DAY_WORDS = re.compile(
    rf"\b(?:{_WEEKDAYS}|demain|aujourd|tomorrow|today|tonight|ce (?:matin|soir|midi)|cet apres|"
    r"this (?:morning|afternoon|evening)|jours?|days?|semaines?|weeks?|mois|months?|"
    r"janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|january|february|"
    r"march|april|may|june|july|august|september|october|november|december)\b|\d{1,2}/\d{1,2}"
)
_TIME_WORDS = re.compile(
    r"\b\d{1,2} ?h(?: ?\d{2})?\b|\bheures?\b|(?<!apres )\bmidi\b|\bminuit\b|\bnoon\b|\bmidnight\b|"
    r"\d{1,2}:\d{2}|\b\d{1,2} ?(?:am|pm)\b|o clock|\bhours?\b"
)
_APPROX = re.compile(r"\b(?:vers|environ|alentours|around|about|approximately|plus ou moins)\b")
_NEGATION_BEFORE = re.compile(
    r"(?:\bpas|\bsauf|\bexcept|\bnot|\bsurtout pas|\bni|\bpas (?:possible|disponible|libre|dispo))"
    r"(?: (?:le|la|les|l|de|du|en|on|the|a|au))?$"
)
_NEGATION_AFTER = re.compile(
    r"^(?:c est |ca |je |moi |ce )?(?:ne |n )?(?:peux|peut|suis|va|marche|convient|est|can t|cannot|won t)?"
    r" ?(?:pas|impossible|not|no good)\b"
)
_UPPER_OPEN = re.compile(r"\b(?:avant|before|earlier than)\b")
_LOWER_OPEN = re.compile(r"\b(?:apres|after|later than)\b")
_QUALIFIED_PART = re.compile(r"\b(?:debut|fin|milieu|early|late|mid)\b")
_PART_WORDS: tuple[tuple[re.Pattern[str], PartOfDay], ...] = (
    (re.compile(r"\b(?:apres midi|aprem|apres-midi|afternoon)\b"), PartOfDay.AFTERNOON),
    (re.compile(r"\b(?:soir|soiree|fin de journee|evening|tonight)\b"), PartOfDay.EVENING),
    (re.compile(r"\b(?:matin|matinee|morning)\b"), PartOfDay.MORNING),
)
# A negated part of the day keeps the caller out of it: "pas le matin" -> from noon on.
_NOT_PART = {
    PartOfDay.MORNING: ("not_before", time(12, 0)),
    PartOfDay.AFTERNOON: ("not_after", time(12, 0)),
    PartOfDay.EVENING: ("not_after", time(17, 0)),
}
_GRAINS = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1), "hour": timedelta(hours=1)}
_LOCALES = {"fr": "FR", "en": "EN"}


@dataclass(frozen=True, slots=True)
class _Mention:
    """One Duckling time entity, with our own slice of the text and its surroundings."""

    span: str
    before: str
    after: str
    value: dict[str, Any]

    @property
    def negated(self) -> bool:
        return bool(_NEGATION_BEFORE.search(self.before) or _NEGATION_AFTER.search(self.after))


class DateTimeParser:
    """Duckling with its time-zone database and locales loaded once; each call only builds a reference time."""

    def __init__(self, tz: str = "Europe/Paris", zoneinfo_dir: str = ZONEINFO_DIR) -> None:
        self._tz = tz
        self._tzdb = duckling.load_time_zones(zoneinfo_dir)
        self._locales = {
            lang: duckling.default_locale_lang(duckling.parse_lang(code)) for lang, code in _LOCALES.items()
        }
        self._dims = duckling.parse_dimensions(["time"])
        self._raw("demain à dix heures", datetime(2026, 1, 1, tzinfo=PARIS), "fr")  # warm the Haskell runtime

    def _raw(self, text: str, ref: datetime, lang: str) -> list[dict[str, Any]]:
        stamp = int(_aware(ref).timestamp())
        context = duckling.Context(duckling.parse_ref_time(self._tzdb, self._tz, stamp), self._locales[_lang(lang)])
        return [e for e in duckling.parse(text, context, self._dims, False) if e.get("dim") == "time"]

    def mentions(self, text: str, ref: datetime, lang: str = "fr") -> list[_Mention]:
        """Time entities in order, in the other language if none in `lang` (callers switch); offsets index
        our own string (Duckling's `body` comes back mis-decoded)."""
        entities = self._raw(text, ref, lang) or self._raw(text, ref, "en" if _lang(lang) == "fr" else "fr")
        found = []
        for entity in entities:
            start, end = int(entity["start"]), int(entity["end"])
            before, after = normalise(text[max(0, start - 30) : start]), normalise(text[end : end + 30])
            found.append(_Mention(normalise(text[start:end]), before, after, entity["value"]))
        return found

    def when(self, text: str, ref: datetime, lang: str = "fr") -> WhenConstraint:
        """Everything the utterance says about when, relative to `ref` (an aware or Paris-local datetime)."""
        builder = _Builder(_aware(ref).astimezone(PARIS).date())
        for mention in self.mentions(text, ref, lang):
            builder.add(mention)
        builder.add_bare_parts(normalise(text))
        return builder.build()

    def birth_date(self, text: str, ref: datetime | date, lang: str = "fr") -> date | None:
        """A date of birth said in words or digits; never in the future, two-digit years resolved by `ref`."""
        today = ref.astimezone(PARIS).date() if isinstance(ref, datetime) and ref.tzinfo else _as_date(ref)
        digits = digits_of_words(text, _lang(lang))
        found = birth_date_from_digits(digits, today)
        if found is not None:
            return found
        reference = datetime.combine(today, time(12, 0), tzinfo=PARIS)
        for entity in self._raw(digits, reference, lang):
            value = entity["value"]
            if value.get("type") == "value" and value.get("grain") == "day" and re.search(r"\d{4}", digits):
                return plausible_birth_date(_parse_iso(value["value"]).date(), today)
        return None


class _Builder:
    """Accumulates the mentions of one utterance into a WhenConstraint."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.fields: dict[str, Any] = {}
        self.days: list[tuple[date, bool]] = []
        self.excluded_weekdays: set[int] = set()
        self.excluded_days: set[date] = set()

    def add(self, mention: _Mention) -> None:
        if mention.value.get("type") == "interval":
            self._interval(mention)
        else:
            self._value(mention)

    def _value(self, mention: _Mention) -> None:
        value = mention.value
        moment, grain = _daytime(value), value.get("grain", "day")
        if grain in ("week", "month", "quarter", "year"):
            if not mention.negated:
                self.fields["date_from"], self.fields["date_to"] = moment.date(), _grain_end(moment.date(), grain)
            return
        if mention.negated:
            self._exclude(mention, moment.date())
            return
        if _TIME_WORDS.search(mention.span):
            self.fields["at"] = moment.time()
            self.fields["approximate"] = bool(_APPROX.search(mention.before) or _APPROX.search(mention.span))
            if not _DAY_WORDS.search(mention.span):
                return
        self.days.append((moment.date(), _is_weekday_ref(mention.span)))

    def _exclude(self, mention: _Mention, day: date) -> None:
        if _WEEKDAY_ONLY.match(mention.span):
            self.excluded_weekdays.add(day.weekday())
        elif not _TIME_WORDS.search(mention.span):
            self.excluded_days.add(day)

    def _interval(self, mention: _Mention) -> None:
        value = mention.value
        low = _parse_iso(value["from"]["value"]) if "from" in value else None
        high = _parse_iso(value["to"]["value"]) if "to" in value else None
        part = _part_of_day(mention.span)
        grain = (value.get("from") or value.get("to") or {}).get("grain", "hour")
        if grain not in _GRAINS and part is None:
            self._date_bounds(mention, low, high)
        elif part is not None:
            self._part_interval(mention, part, low, high)
        elif low is not None and high is not None:
            self._closed_interval(mention, low, high, value["to"].get("grain", "hour"))
        elif low is not None:
            self.fields["not_after" if mention.negated else "not_before"] = low.time()
        elif high is not None:
            self._upper_bound(mention, high)

    def _date_bounds(self, mention: _Mention, low: datetime | None, high: datetime | None) -> None:
        """'à partir de lundi', 'après le 15 décembre', 'avant jeudi', "jusqu'à vendredi", 'pas avant jeudi'."""
        if low is not None and high is not None:
            if not mention.negated:
                self.fields["date_from"], self.fields["date_to"] = low.date(), (high - timedelta(days=1)).date()
        elif low is not None:
            strict = timedelta(days=1 if _LOWER_OPEN.search(mention.span) else 0)
            self.fields["date_to" if mention.negated else "date_from"] = (low + strict).date()
        elif high is not None:
            strict = timedelta(days=1 if _UPPER_OPEN.search(mention.span) else 0)
            self.fields["date_from" if mention.negated else "date_to"] = (
                high.date() if mention.negated else (high - strict).date()
            )

    def _part_interval(self, mention: _Mention, part: PartOfDay, low: datetime | None, high: datetime | None) -> None:
        if mention.negated:
            name, bound = _NOT_PART[part]
            self.fields[name] = bound
            return
        self.fields["part_of_day"] = part
        if low is not None and high is not None and _QUALIFIED_PART.search(mention.span):
            self.fields["not_before"], self.fields["not_after"] = low.time(), (high - timedelta(minutes=1)).time()
        if low is not None and _DAY_WORDS.search(mention.span):
            self.days.append((low.date(), _is_weekday_ref(mention.span)))

    def _closed_interval(self, mention: _Mention, low: datetime, high: datetime, grain: str) -> None:
        if mention.negated:
            return
        self.fields["not_before"], self.fields["not_after"] = low.time(), (high - _GRAINS[grain]).time()
        if _DAY_WORDS.search(mention.span):
            self.days.append((low.date(), False))

    def _upper_bound(self, mention: _Mention, high: datetime) -> None:
        if mention.negated:  # "pas avant 10 heures"
            self.fields["not_before"] = high.time()
        elif _UPPER_OPEN.search(mention.span):  # "avant 11 h": strictly before
            self.fields["not_after"] = (high - timedelta(minutes=1)).time()
        else:  # "jusqu'à 16 h"
            self.fields["not_after"] = high.time()

    def add_bare_parts(self, text: str) -> None:
        """Parts of the day Duckling leaves out ("plutôt l'aprem"), unless one is already known."""
        if "part_of_day" in self.fields or "not_before" in self.fields or "not_after" in self.fields:
            return
        match = _first_part(text)
        if match is None:
            return
        part, start = match
        if _NEGATION_BEFORE.search(text[max(0, start - 30) : start].strip()):
            name, bound = _NOT_PART[part]
            self.fields[name] = bound
        else:
            self.fields["part_of_day"] = part

    def build(self) -> WhenConstraint:
        fields = dict(self.fields)
        if fields.get("date_from") is not None and fields["date_from"] < self.today:  # "d'ici la fin du mois"
            fields["date_from"] = self.today
        distinct = sorted({day for day, _ in self.days})
        if len(distinct) == 1:
            fields["day"] = distinct[0]
        elif distinct:  # "mercredi ou jeudi"
            fields["date_from"], fields["date_to"] = distinct[0], distinct[-1]
            if all(weekday_only for _, weekday_only in self.days):
                fields["weekdays"] = frozenset(day.weekday() for day in distinct)
        return WhenConstraint(
            **fields,
            excluded_weekdays=frozenset(self.excluded_weekdays),
            excluded_days=frozenset(self.excluded_days),
        )


def _daytime(value: dict[str, Any]) -> datetime:
    """Of Duckling's readings ("neuf heures et demie" at 10:00 -> 21:30 or tomorrow 09:30) the first within
    surgery hours (07:00-19:59), else its first; callers who mean the evening say "soir" or "pm"."""
    readings = [_parse_iso(v["value"]) for v in value.get("values", []) if v.get("type") == "value"]
    first = _parse_iso(value["value"])
    return next((r for r in readings if 7 <= r.hour < 20), first) if first.hour >= 20 or first.hour < 7 else first


def _part_of_day(span: str) -> PartOfDay | None:
    found = _first_part(span)
    return found[0] if found else None


def _first_part(text: str) -> tuple[PartOfDay, int] | None:
    hits = [(m.start(), part) for pattern, part in _PART_WORDS if (m := pattern.search(text))]
    if not hits:
        return None
    start, part = min(hits)
    return part, start


def _is_weekday_ref(span: str) -> bool:
    """"jeudi", "mardi prochain vers 10 h" (a weekday), not "jeudi 3 décembre" (a date)."""
    return bool(re.search(rf"\b(?:{_WEEKDAYS})\b", span)) and not _MONTHS.search(span)


def _grain_end(start: date, grain: str) -> date:
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if grain == "quarter":
        return (start.replace(day=1) + timedelta(days=95)).replace(day=1) - timedelta(days=1)
    return start.replace(month=12, day=31)


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(PARIS)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


def _as_date(ref: datetime | date) -> date:
    return ref.date() if isinstance(ref, datetime) else ref


def _lang(lang: str) -> str:
    return "en" if lang.lower().startswith("en") else "fr"


@cache
def default_parser() -> DateTimeParser:
    """One parser per process (the time-zone database is loaded once)."""
    return DateTimeParser()


def parse_when(text: str, ref: datetime, lang: str = "fr") -> WhenConstraint:
    return default_parser().when(text, ref, lang)


def parse_birth_date(text: str, ref: datetime | date, lang: str = "fr") -> date | None:
    return default_parser().birth_date(text, ref, lang)
