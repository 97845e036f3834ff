"""French text normalisation for speech: numbers, times, dates, phone numbers and abbreviations in words."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

_UNITS = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
    "onze", "douze", "treize", "quatorze", "quinze", "seize",
]
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}
MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def _below_100(n: int) -> str:
    if n <= 16:
        return _UNITS[n]
    if n < 20:
        return "dix-" + _UNITS[n - 10]
    tens, unit = divmod(n, 10)
    if tens in (7, 9):
        base = "soixante" if tens == 7 else "quatre-vingt"
        rest = _below_100(10 + unit)
        return f"{base} et {rest}" if n == 71 else f"{base}-{rest}"
    if tens == 8:
        return "quatre-vingts" if unit == 0 else "quatre-vingt-" + _UNITS[unit]
    if unit == 0:
        return _TENS[tens]
    if unit == 1:
        return f"{_TENS[tens]} et un"
    return f"{_TENS[tens]}-{_UNITS[unit]}"


def _below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if hundreds == 0:
        return _below_100(rest)
    head = "cent" if hundreds == 1 else _UNITS[hundreds] + " cent"
    if rest == 0:
        return head + ("s" if hundreds > 1 else "")
    return f"{head} {_below_100(rest)}"


def number_to_words(n: int, *, feminine: bool = False) -> str:
    """French cardinal for 0 ≤ n ≤ 999 999 ("quatre-vingts", "soixante et onze", "deux mille")."""
    if n < 0:
        return "moins " + number_to_words(-n, feminine=feminine)
    if n >= 1_000_000:
        raise ValueError("number_to_words handles numbers below one million")
    thousands, rest = divmod(n, 1000)
    words = _below_1000(rest) if rest or not thousands else ""
    if thousands:
        head = "mille" if thousands == 1 else _below_1000(thousands).removesuffix("s") + " mille"
        head = head.replace("quatre-vingts mille", "quatre-vingt mille")
        words = f"{head} {words}".strip()
    if feminine and (words == "un" or words.endswith((" un", "-un"))):
        words = words[:-2] + "une"
    return words


def digits_to_words(digits: str) -> str:
    """Each digit in words: "3114" → "trois un un quatre"."""
    return " ".join(_UNITS[int(d)] for d in digits if d.isdigit())


def ordinal_day(day: int) -> str:
    """A day of month as spoken: "premier", "deux", "trente et un"."""
    return "premier" if day == 1 else number_to_words(day)


# --- phone numbers and service numbers ---------------------------------------------------------------


def _pair(pair: str) -> str:
    if pair[0] == "0":
        return "zéro " + _UNITS[int(pair[1])]
    return number_to_words(int(pair))


def phone_to_words(number: str) -> str:
    """A French phone number read in pairs: "06 12 34 56 78" → "zéro six, douze, trente-quatre, …"."""
    digits = re.sub(r"\D", "", number)
    prefix = ""
    if number.strip().startswith("+33") and len(digits) == 11:
        prefix, digits = "plus trente-trois, ", "0" + digits[2:]
    if len(digits) % 2:
        return prefix + digits_to_words(digits)
    pairs = [digits[i : i + 2] for i in range(0, len(digits), 2)]
    if prefix:
        return prefix + ", ".join([_UNITS[int(pairs[0][1])], *(_pair(p) for p in pairs[1:])])
    return ", ".join(_pair(p) for p in pairs)


SERVICE_NUMBERS = {
    "116 117": "cent seize, cent dix-sept",
    "116117": "cent seize, cent dix-sept",
    "3114": "trente et un, quatorze",
    "3624": "trente-six, vingt-quatre",
    "3919": "trente-neuf, dix-neuf",
    "112": "cent douze",
    "114": "cent quatorze",
    "115": "cent quinze",
    "119": "cent dix-neuf",
}


# --- times and dates --------------------------------------------------------------------------------


def time_to_words(hours: int, minutes: int = 0) -> str:
    """ "14 h 30" → "quatorze heures trente"; "1 h" → "une heure"; "12 h 01" → "douze heures une"."""
    if not (0 <= hours <= 24 and 0 <= minutes <= 59):
        raise ValueError("not a time of day")
    hour_words = number_to_words(hours, feminine=True)
    unit = "heure" if hours in (0, 1) else "heures"
    if minutes == 0:
        return f"{hour_words} {unit}"
    return f"{hour_words} {unit} {number_to_words(minutes, feminine=True)}"


def date_to_words(day: dt.date, *, today: dt.date | None = None, weekday: bool | None = None) -> str:
    """ "2026-03-12" → "jeudi douze mars"; the year is said when it is not the current one."""
    today = today or dt.date.today()
    near = abs((day - today).days) <= 366
    with_weekday = near if weekday is None else weekday
    words = f"{ordinal_day(day.day)} {MONTHS[day.month - 1]}"
    if with_weekday:
        words = f"{WEEKDAYS[day.weekday()]} {words}"
    if day.year != today.year:
        words += f" {number_to_words(day.year)}"
    return words


def _resolve_day_month(day: int, month: int, today: dt.date) -> dt.date | None:
    """A day/month without a year: the next such date from today (an appointment is ahead)."""
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if candidate >= today - dt.timedelta(days=1):
            return candidate
    return None


def _full_year(text: str) -> int:
    year = int(text)
    return year + 2000 if len(text) == 2 and year < 70 else (year + 1900 if len(text) == 2 else year)


# --- the normaliser ---------------------------------------------------------------------------------

_ABBREVIATIONS: list[tuple[str, str]] = [
    (r"\bDrs\b\.?", "docteurs"),
    (r"\bDr\b\.?", "docteur"),
    (r"\bPr\b\.?(?=\s+[A-ZÉÈ])", "professeur"),
    (r"\bMmes\b", "mesdames"),
    (r"\bMme\b\.?", "madame"),
    (r"\bMlle\b\.?", "mademoiselle"),
    (r"\bMM\.(?=\s)", "messieurs"),
    (r"\bM\.(?=\s+[A-ZÉÈ])", "monsieur"),
    (r"\bSt(?=[- ][A-ZÉ])", "saint"),
    (r"\bSte(?=[- ][A-ZÉ])", "sainte"),
    (r"\b[Rr][Dd][Vv]\b", "rendez-vous"),
    (r"\bn°\s*", "numéro "),
    (r"\bN°\s*", "numéro "),
    (r"\bTél\.?\s*:?", "téléphone"),
    (r"\bSOS\b", "S O S"),
    (r"\bSAMU\b", "samu"),
    (r"\betc\.", "et cetera"),
]

_PHONE_RE = re.compile(r"(?<![\d+])(?:\+33\s?[1-9](?:[\s.-]?\d{2}){4}|0[1-9](?:[\s.-]?\d{2}){4})(?!\d)")
_SERVICE_RE = re.compile(r"(?<![\d,.])(116[\s\u00a0]?117|3114|3624|3919|112|114|115|119)(?![\d,])")
_TIME_RE = re.compile(r"\b([01]?\d|2[0-4])\s?[hH]\s?([0-5]\d)?(?!\w)|\b([01]?\d|2[0-4]):([0-5]\d)\b")
_ISO_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DMY_RE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b")
_ORDINAL_RE = re.compile(r"\b(\d{1,4})(er|re|ère|e|ème|eme)\b")
_EURO_RE = re.compile(r"\b(\d+)(?:[,.](\d{2}))?\s?€")
_PERCENT_RE = re.compile(r"\b(\d+)\s?%")
_NUMBER_RE = re.compile(r"(?<![\w,./])(\d{1,6})(?!\d)(?![,./]\d)")


def _sub_time(m: re.Match[str]) -> str:
    hours, minutes = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return time_to_words(int(hours), int(minutes or 0))


def _date_sub(today: dt.date) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        day, month = int(m.group(1)), int(m.group(2))
        try:
            date = dt.date(_full_year(m.group(3)), month, day) if m.group(3) else _resolve_day_month(
                day, month, today
            )
        except ValueError:
            date = None
        return date_to_words(date, today=today) if date else m.group(0)

    return sub


def _iso_sub(today: dt.date) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        try:
            date = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return m.group(0)
        return date_to_words(date, today=today)

    return sub


def ordinal_to_words(n: int, *, feminine: bool = False) -> str:
    """ "1er" → "premier", "2e" → "deuxième", "21e" → "vingt et unième"."""
    if n == 1:
        return "première" if feminine else "premier"
    word = number_to_words(n)
    if word.endswith("cinq"):
        word += "u"
    elif word.endswith("neuf"):
        word = word[:-1] + "v"
    elif word.endswith(("vingts", "cents")):
        word = word[:-1]
    word = word.removesuffix("e")
    return word + "ième"


def _ordinal(m: re.Match[str]) -> str:
    return ordinal_to_words(int(m.group(1)), feminine=m.group(2) in ("re", "ère"))


def _euro(m: re.Match[str]) -> str:
    words = number_to_words(int(m.group(1))) + (" euro" if int(m.group(1)) <= 1 else " euros")
    if m.group(2) and int(m.group(2)):
        words += " " + number_to_words(int(m.group(2)))
    return words


def normalize_fr(text: str, *, today: dt.date | None = None) -> str:
    """Rewrite digits and abbreviations in a French reply as the words a voice should say."""
    today = today or dt.date.today()
    for pattern, replacement in _ABBREVIATIONS:
        text = re.sub(pattern, replacement, text)
    text = _PHONE_RE.sub(lambda m: phone_to_words(m.group(0)), text)
    text = _SERVICE_RE.sub(lambda m: SERVICE_NUMBERS[re.sub(r"\s", " ", m.group(1))], text)
    text = _ISO_RE.sub(_iso_sub(today), text)
    text = _DMY_RE.sub(_date_sub(today), text)
    text = _TIME_RE.sub(_sub_time, text)
    text = _EURO_RE.sub(_euro, text)
    text = _PERCENT_RE.sub(lambda m: number_to_words(int(m.group(1))) + " pour cent", text)
    text = _ORDINAL_RE.sub(_ordinal, text)
    text = _NUMBER_RE.sub(lambda m: number_to_words(int(m.group(1))), text)
    return re.sub(r"[ \t]{2,}", " ", text)


_EN_ABBREVIATIONS = [(r"\bDr\b\.?", "Doctor"), (r"\bMrs\b\.?", "Missus"), (r"\bMr\b\.?", "Mister")]


def normalize_en(text: str) -> str:
    """Light English normalisation (titles); the voices read English digits well enough."""
    for pattern, replacement in _EN_ABBREVIATIONS:
        text = re.sub(pattern, replacement, text)
    return text


def normalize_for_speech(text: str, language: str = "fr", *, today: dt.date | None = None) -> str:
    """Language-dispatching entry point used by the TTS plugin."""
    return normalize_fr(text, today=today) if language.startswith("fr") else normalize_en(text)
