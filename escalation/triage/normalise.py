"""Text normalisation for matching: accent-free lowercase tokens mapped back to the caller's own words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from text_to_num import alpha2digit

MAX_CHARS = 4000
"""Matching looks at the first MAX_CHARS characters only (a caller's turn is far shorter)."""

_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+|°", re.UNICODE)
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ʼ": "'"})



def words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(text.split())


FR_NUMBER_WORDS = words(
    "zero un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize "
    "vingt vingts trente quarante cinquante soixante septante huitante nonante cent cents mille virgule"
)
EN_NUMBER_WORDS = words(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand point"
)
_JOINERS = frozenset({"et", "and"})
_HALF = frozenset({"demi", "half"})


@dataclass(frozen=True)
class Token:
    """One word or number of the caller's text: its matching form and where it sits in the original."""

    norm: str
    start: int
    end: int


@dataclass(frozen=True)
class Number:
    """A number said in digits or words, spanning tokens [first, last]."""

    value: float
    first: int
    last: int


def fold(text: str) -> str:
    """Lowercase, ligatures expanded, accents stripped: the form every pattern is compared in."""
    text = text.lower().translate(_LIGATURES)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def clean(text: object) -> str:
    """Any input made into safe text: decoded, control characters removed, truncated to MAX_CHARS."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:MAX_CHARS]
    return "".join(ch if ch.isprintable() else " " for ch in text)


def tokenise(text: str) -> list[Token]:
    """Split into words (elisions split: "n'ai" → "n", "ai"), numbers and degree signs."""
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        raw = match.group(0)
        norm = "deg" if raw == "°" else fold(raw).replace(",", ".")
        if norm:
            tokens.append(Token(norm, match.start(), match.end()))
    return tokens


def numbers(text: str, tokens: list[Token]) -> list[Number]:
    """Every number in digits or in French/English words, decimals joined ("39 5" → 39.5)."""
    found: list[Number] = []
    i = 0
    while i < len(tokens):
        j = _number_run_end(tokens, i)
        if j < 0:
            i += 1
            continue
        value = _run_value(text, tokens, i, j)
        if value is not None:
            found.append(Number(value, i, j))
        i = j + 1
    return _join_decimals(tokens, found)


def _is_number_word(norm: str) -> bool:
    return norm in FR_NUMBER_WORDS or norm in EN_NUMBER_WORDS


def _number_run_end(tokens: list[Token], i: int) -> int:
    """Index of the last token of the number starting at i, or -1 if no number starts there."""
    first = tokens[i].norm
    if first[0].isdigit():
        return i
    if not _is_number_word(first) or first in ("virgule", "point", "cent", "mille", "thousand"):
        return -1
    j = i
    while j + 1 < len(tokens):
        nxt = tokens[j + 1].norm
        if _is_number_word(nxt) and nxt not in ("un", "une", "one"):
            j += 1
        elif nxt in _JOINERS and j + 2 < len(tokens) and _joins(tokens[j].norm, tokens[j + 2].norm):
            j += 2
        else:
            break
    return j


def _joins(before: str, after: str) -> bool:
    """ "vingt et un", "hundred and two": a joiner inside a number, not between two numbers."""
    if before in ("hundred", "thousand"):
        return after in EN_NUMBER_WORDS
    return after in ("un", "une", "onze")


def _run_value(text: str, tokens: list[Token], i: int, j: int) -> float | None:
    if i == j and tokens[i].norm[0].isdigit():
        return _to_float(tokens[i].norm)
    words = text[tokens[i].start : tokens[j].end]
    lang = "en" if tokens[i].norm in EN_NUMBER_WORDS else "fr"
    try:
        converted = alpha2digit(words, lang, threshold=0)
    except Exception:  # text2num has raised on odd inputs; a number is never worth a crash
        return None
    digits = re.findall(r"\d+(?:[.,]\d+)?", converted)
    if len(digits) != 1:
        return None if not digits else _decimal_pair(digits)
    return _to_float(digits[0])


def _decimal_pair(digits: list[str]) -> float | None:
    """ "trente-neuf cinq" comes back as "39 5": read it as 39.5 when it looks like a temperature."""
    if len(digits) == 2:
        whole, tenth = _to_float(digits[0]), _to_float(digits[1])
        if whole is not None and tenth is not None and 34 <= whole <= 43 and 0 <= tenth <= 9:
            return whole + tenth / 10
    first = _to_float(digits[0])
    return first


def _to_float(raw: str) -> float | None:
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        return None


def _join_decimals(tokens: list[Token], found: list[Number]) -> list[Number]:
    """Join a temperature's whole and tenths said apart: "38 5", "38°5", "38 virgule 5", "38 et demi"."""
    out: list[Number] = []
    k = 0
    while k < len(found):
        cur = found[k]
        if 34 <= cur.value <= 43 and cur.value.is_integer():
            joined = _joined_with_next(tokens, cur, found[k + 1] if k + 1 < len(found) else None)
            if joined is not None:
                out.append(joined)
                k += 2 if joined.last != cur.last and _consumed_next(joined, found, k) else 1
                continue
        out.append(cur)
        k += 1
    return out


def _consumed_next(joined: Number, found: list[Number], k: int) -> bool:
    return k + 1 < len(found) and found[k + 1].last == joined.last


def _joined_with_next(tokens: list[Token], cur: Number, nxt: Number | None) -> Number | None:
    after = cur.last + 1
    if after + 1 < len(tokens) and tokens[after].norm in _JOINERS and tokens[after + 1].norm in _HALF:
        return Number(cur.value + 0.5, cur.first, after + 1)
    if nxt is None or not (nxt.value.is_integer() and 0 <= nxt.value <= 9):
        return None
    gap = [t.norm for t in tokens[after : nxt.first]]
    if gap in ([], ["deg"], ["virgule"], ["point"], ["degre"], ["degres"]):
        return Number(cur.value + nxt.value / 10, cur.first, nxt.last)
    return None
