"""Text normalisation shared by the dialog NLU modules (accents, apostrophes, number words)."""

from __future__ import annotations

import re
import unicodedata

from text_to_num import alpha2digit

_NON_ALNUM = re.compile(r"[^a-z0-9+:/]+")
_NON_ALNUM_HYPHEN = re.compile(r"[^a-z0-9+:/-]+|(?<![a-z])-|-(?![a-z])")
_ZERO = re.compile(r"\bz[ée]ro\b", re.IGNORECASE)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str, keep_hyphens: bool = False) -> str:
    """Lower case, no accents, apostrophes and punctuation turned into single spaces ('+', ':', '/' kept;
    hyphens inside words too with `keep_hyphens`, for names like 'Marie-Claire')."""
    text = strip_accents(text.replace("œ", "oe").replace("Œ", "oe").replace("’", "'")).lower()
    pattern = _NON_ALNUM_HYPHEN if keep_hyphens else _NON_ALNUM
    return re.sub(" +", " ", pattern.sub(" ", text)).strip()


def digits_of_words(text: str, lang: str = "fr") -> str:
    """Number words to digits ('zéro six douze' -> '0 6 12'); unchanged when text2num cannot parse it."""
    text = _ZERO.sub("0", text)
    try:
        return str(alpha2digit(text, lang))
    except ValueError:
        return text


def word_count(text: str) -> int:
    return len(normalise(text).split())
