"""Entities in caller speech: phone numbers, person names, the choice of an offered slot, practitioner mentions.

The dialog acts (yes/no, corrections, repeat requests, goodbyes) live in `acts` and are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz.distance import Levenshtein

from agent.dialog.acts import Answer, Correction, correction, is_goodbye, is_repeat_request, yes_no
from agent.dialog.text import digits_of_words, normalise

__all__ = [
    "Answer",
    "Correction",
    "PersonName",
    "Span",
    "choice",
    "correction",
    "is_goodbye",
    "is_repeat_request",
    "person_name",
    "phone_number",
    "practitioner_mentions",
    "yes_no",
]

# ---------------------------------------------------------------- phone numbers

_PLUS = re.compile(r"\b(?:plus|\+)\s*(?=\d)", re.IGNORECASE)
_NUMBER_RUN = re.compile(r"\+?\d[\d\s.,\-/]*\d")


def phone_number(text: str, lang: str = "fr") -> str | None:
    """'06 12 34 56 78', 'zéro six douze trente-quatre…', '+33 6 12…' -> E.164 '+33612345678'.

    Non-French international numbers keep their '+' form; None when no complete number was said.
    """
    digits_text = _PLUS.sub("+", digits_of_words(text, lang))
    for run in _NUMBER_RUN.findall(digits_text):
        number = _e164(("+" if run.startswith("+") else "") + re.sub(r"\D", "", run))
        if number:
            return number
    return None


def _e164(raw: str) -> str | None:
    digits = raw.lstrip("+")
    if raw.startswith("+33") or raw.startswith("0033"):
        national = digits[2:] if raw.startswith("+") else digits[4:]
        national = national.removeprefix("0")
        return f"+33{national}" if len(national) == 9 else None
    if raw.startswith("+") and 8 <= len(digits) <= 15:
        return raw
    if len(digits) == 10 and digits.startswith("0") and digits[1] != "0":
        return f"+33{digits[1:]}"
    return None


# ---------------------------------------------------------------- person names


@dataclass(frozen=True, slots=True)
class PersonName:
    """A name as the caller said it; `spelled` holds letters spelled out ('R O U S S E A U' -> 'ROUSSEAU')."""

    first: str | None
    last: str | None
    title: str | None = None
    spelled: str | None = None

    @property
    def full(self) -> str:
        return " ".join(part for part in (self.first, self.last) if part)


_NAME_TRIGGERS = re.compile(
    r"(?:je m appelle|je m apelle|mon nom (?:c est|est)|mon nom de famille (?:c est|est)|moi c est|ici|"
    r"c est|je suis|my name is|my name s|this is|i am|i m|it s|name s|au nom de|de la part de)\s+",
)
_TITLES = {
    "madame": "madame", "mme": "madame", "mademoiselle": "madame", "mlle": "madame", "monsieur": "monsieur",
    "m": "monsieur", "mr": "monsieur", "mrs": "madame", "ms": "madame", "miss": "madame", "mister": "monsieur",
}  # fmt: skip
_NOT_NAMES = frozenset(
    (
        "et", "je", "j", "pour", "de", "du", "des", "le", "la", "les", "l", "un", "une", "mon", "ma", "mes", "au",
        "aux", "a", "en", "dans", "sur", "avec", "chez", "qui", "que", "quoi", "bien", "pas", "ne", "oui", "non",
        "merci", "bonjour", "allo", "alors", "euh", "ben", "bah", "voila", "donc", "mais", "car", "ou", "est", "suis",
        "c", "ce", "ca", "ici", "tres", "ne", "nee", "né", "appelle", "telephone", "numero", "rendez", "vous",
        "docteur", "dr", "patient", "patiente", "pour", "appeler", "the", "and", "a", "an", "i", "is", "my", "to",
        "for", "of", "at", "with", "hello", "hi", "yes", "no", "thanks", "please", "calling", "call", "about",
        "appointment", "um", "uh", "well", "so", "madame", "monsieur", "mme", "mr", "mrs", "ms", "m", "s", "ai", "as",
        "avait", "avoir", "vais", "voudrais", "veux", "souhaite", "souhaiterais", "aimerais", "mari", "femme", "fils",
        "fille", "enfant", "pere", "mere", "son", "sa", "moi", "vous", "nous", "il", "elle", "on", "bon", "tout",
        "rappelle", "spelled", "epelle"
    )
)
_LETTER_NAMES = {"double v": "w", "double ve": "w", "i grec": "y", "ygrec": "y", "igrec": "y"}


def person_name(text: str, expected: bool = False) -> PersonName | None:
    """'je m'appelle Jeanne Rousseau', "c'est madame Rousseau", 'Rousseau, R O U S S E A U'.

    With `expected` (the agent just asked for the name) a bare 'Jeanne Rousseau' counts too. A single
    word is taken as the family name.
    """
    key = normalise(text, keep_hyphens=True)
    spelled = _spelled(key)
    words = _name_words(key, expected)
    title = next((_TITLES[w] for w in words if w in _TITLES), None)
    names = [w for w in words if w not in _TITLES and w not in _NOT_NAMES and len(w) > 1][:3]
    if not names and not spelled:
        return None
    first, last = (None, names[0]) if len(names) == 1 else (names[0], " ".join(names[1:])) if names else (None, None)
    if spelled and (last is None or _close(last, spelled)):
        last = spelled
    return PersonName(_cap(first), _cap(last), title, spelled.upper() if spelled else None)


def _name_words(key: str, expected: bool) -> list[str]:
    match = _NAME_TRIGGERS.search(key)
    if match:
        tail = key[match.end() :]
    elif expected or re.match(r"^(?:madame|monsieur|mme|mr|mrs|ms)\b", key):
        tail = key
    else:
        return []
    tail = re.split(r"\b(?:et|je|j|pour|nee?|ne|qui|born|and|i|mon|ma|my|c est|au)\b", tail)[0]
    return [w for w in tail.split() if not w.isdigit()]


def _spelled(key: str) -> str | None:
    """The longest run of three or more single letters ('r o u s s e a u')."""
    for spoken, letter in _LETTER_NAMES.items():
        key = key.replace(spoken, letter)
    runs: list[str] = re.findall(r"(?:\b[a-z]\b\s*){3,}", key)
    if not runs:
        return None
    return max(runs, key=len).replace(" ", "")


def _close(word: str, spelled: str) -> bool:
    return Levenshtein.normalized_similarity(word.replace(" ", ""), spelled) >= 0.5


def _cap(word: str | None) -> str | None:
    if word is None:
        return None
    return " ".join("-".join(p.capitalize() for p in w.split("-")) for w in word.split())


# ---------------------------------------------------------------- choice of an offered slot

_ORDINALS = (
    (0, r"premier|premiere|1er|1ere|first|1st"),
    (1, r"deuxieme|second|seconde|2e|2eme|2nd"),
    (2, r"troisieme|3e|3eme|third|3rd"),
    (3, r"quatrieme|4e|4eme|fourth|4th"),
    (-1, r"dernier|derniere|last|latter"),
)
# Cardinals are articles or quantities too ("un bouton", "deux jours"): they pick an option only after a
# determiner ("le un", "numéro deux", "option three") or said alone.
_CARDINALS = ((0, r"un|une|one|1"), (1, r"deux|two|2"), (2, r"trois|three|3"), (3, r"quatre|four|4"))
_WEEKDAY_NUMBERS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
_CLOCK = re.compile(r"\b(\d{1,2})\s*(?:h|heures?|:)\s*(\d{2})?\b|\b(midi|noon)\b|\b(\d{1,2})\s*(am|pm)\b")
_EARLIEST = re.compile(r"\b(?:le plus tot|au plus tot|the earliest|earliest|le plus rapide|soonest)\b")


def choice(text: str, options: Sequence[datetime], lang: str = "fr") -> int | None:
    """Index of the offered slot the caller picks: 'le premier', 'le dernier', 'celui de jeudi',
    'celui à 10 h 40', 'the second one'. None when unclear, negated ('pas le premier') or out of range."""
    key = normalise(digits_of_words(text, lang))
    if not options or re.search(r"\b(?:pas|not|aucun|none|neither)\b", key):
        return None
    for finder in (_by_clock, _by_weekday, _by_ordinal):
        index = finder(key, options)
        if index is not None:
            return index
    if _EARLIEST.search(key):
        return min(range(len(options)), key=lambda i: options[i])
    return None


def _unique(indexes: list[int]) -> int | None:
    return indexes[0] if len(indexes) == 1 else None


def _by_clock(key: str, options: Sequence[datetime]) -> int | None:
    match = _CLOCK.search(key)
    if not match:
        return None
    hour, minute = _clock_value(match)
    exact = [i for i, o in enumerate(options) if (o.hour, o.minute) == (hour, minute)]
    if exact or minute:
        return _unique(exact)
    return _unique([i for i, o in enumerate(options) if o.hour == hour])


def _clock_value(match: re.Match[str]) -> tuple[int, int]:
    if match.group(3):
        return 12, 0
    if match.group(4):
        hour = int(match.group(4)) % 12
        return hour + (12 if match.group(5) == "pm" else 0), 0
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    return (hour + 12 if hour < 8 else hour), minute  # "celui de 2 h" on a clinic's day is 14 h


def _by_weekday(key: str, options: Sequence[datetime]) -> int | None:
    days = [n for word, n in _WEEKDAY_NUMBERS.items() if re.search(rf"\b{word}\b", key)]
    if len(days) != 1:
        return None
    indexes = [i for i, o in enumerate(options) if o.weekday() == days[0]]
    if len(indexes) > 1 and (morning := re.search(r"\b(?:matin|morning)\b", key)) is not None:
        indexes = [i for i in indexes if (options[i].hour < 12) == bool(morning)]
    elif len(indexes) > 1 and re.search(r"\b(?:apres midi|afternoon|soir|evening)\b", key):
        indexes = [i for i in indexes if options[i].hour >= 12]
    return _unique(indexes)


def _by_ordinal(key: str, options: Sequence[datetime]) -> int | None:
    for index, words in _ORDINALS:
        if re.search(rf"\b(?:{words})\b", key) and not _is_date(words, key):
            return _position(index, options)
    for index, words in _CARDINALS:
        after_determiner = rf"\b(?:le|la|l|celui|celle|the|option|number|numero)\s+(?:{words})\b"
        alone = rf"^(?:euh\s+)?(?:{words})(?:\s+(?:svp|merci|s il vous plait|please))?$"
        if (re.search(after_determiner, key) or re.search(alone, key.strip())) and not _is_date(words, key):
            return _position(index, options)
    return None


def _is_date(words: str, key: str) -> bool:
    months = r"janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre"
    return bool(re.search(rf"\b(?:{words})\s+(?:{months})\b", key))


def _position(index: int, options: Sequence[datetime]) -> int | None:
    position = index if index >= 0 else len(options) - 1
    return position if position < len(options) else None


# ---------------------------------------------------------------- practitioner mentions


@dataclass(frozen=True, slots=True)
class Span:
    """A raw piece of the caller's text: `kind` is 'name' ('docteur Martin') or 'role' ('sage-femme')."""

    text: str
    start: int
    end: int
    kind: str


_TITLE_WORD = r"(?:docteur(?:e)?|doctoresse|dr\.?|doc|professeur|pr\.?|doctor|madame|monsieur|mme|mr\.?|mrs\.?|ms\.?)"
_NAME_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’\-]+"
_DOCTOR_NAME = re.compile(rf"\b{_TITLE_WORD}\s+(?P<n>{_NAME_WORD}(?:\s+{_NAME_WORD})?)", re.IGNORECASE)
_WITH = re.compile(r"(?:avec|chez|voir|pour|with|see|de)\s+(?:le\s+|la\s+|l'|the\s+)?$", re.IGNORECASE)
_ROLES = re.compile(
    r"\b(?:m[ée]decins?(?:\s+g[ée]n[ée]ralistes?|\s+traitants?)?|g[ée]n[ée]ralistes?|sages?[\s-]femmes?|"
    r"kin[ée](?:sith[ée]rapeutes?)?|dentistes?|p[ée]diatres?|gyn[ée]co(?:logues?)?|infirmi[èe]re?s?|"
    r"dermato(?:logues?)?|ost[ée]o(?:pathes?)?|orthophonistes?|cardio(?:logues?)?|ophtalmo(?:logues?)?|"
    r"psychologues?|psy|podologues?|di[ée]t[ée]ticien(?:ne)?s?|rhumato(?:logues?)?|orthoptistes?|"
    r"midwife|gp|general practitioner|physio(?:therapist)?|nurse|dentist|pediatrician|paediatrician|"
    r"gynaecologist|gynecologist|dermatologist|osteopath|speech therapist|psychologist|cardiologist)\b",
    re.IGNORECASE,
)
_NAME_STOP = frozenset(
    (
        "demain", "aujourd", "pour", "le", "la", "les", "de", "du", "à", "a", "ce", "cette", "mardi", "lundi",
        "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "svp", "s'il", "merci", "et", "ou", "mais", "je", "qui",
        "que", "car", "parce", "rendez-vous", "rdv", "please", "for", "on", "at", "tomorrow", "today", "and"
    )
)


def practitioner_mentions(text: str) -> list[Span]:
    """Raw spans naming a practitioner ('docteur Martin', 'la sage-femme') for the directory to resolve."""
    spans = [_name_span(text, m) for m in _DOCTOR_NAME.finditer(text)]
    found = [s for s in spans if s is not None]
    for match in _ROLES.finditer(text):
        if not any(s.start <= match.start() < s.end for s in found):
            found.append(Span(match.group(0), match.start(), match.end(), "role"))
    return sorted(found, key=lambda s: s.start)


def _name_span(text: str, match: re.Match[str]) -> Span | None:
    title = match.group(0).split()[0].lower().rstrip(".")
    if title in ("madame", "monsieur", "mme", "mr", "mrs", "ms") and not _WITH.search(text[: match.start()]):
        return None  # "c'est madame Rousseau" names the caller, not a practitioner
    words = match.group("n").split()
    kept = [w for w in words if w.lower() not in _NAME_STOP]
    if not kept or kept[0] is not words[0]:
        return None
    if len(kept) < len(words):
        kept = kept[:1]
    end = match.start("n") + len(" ".join(kept)) if len(kept) == 1 else match.end()
    return Span(text[match.start() : end], match.start(), end, "name")
