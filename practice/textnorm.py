"""Text normalisation and a small French phonetic key, for matching what callers and ASR say to names."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^a-z0-9]+")

# Ordered rewrites from spelling to sound (after accents are stripped); digraphs before single letters.
_PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    (r"sch", "S"),
    (r"ch", "S"),
    (r"sh", "S"),
    (r"ph", "f"),
    (r"th", "t"),
    (r"gu(?=[eiy])", "g"),
    (r"qu", "k"),
    (r"q", "k"),
    (r"ck", "k"),
    (r"c(?=[eiy])", "s"),
    (r"c", "k"),
    (r"g(?=[eiy])", "j"),
    (r"gn", "n"),
    (r"bv", "v"),
    (r"w", "v"),
    (r"z", "s"),
    (r"x", "ks"),
    (r"h", ""),
    (r"(?<=[aeiouy])s(?=[aeiouy])", "z"),
)
_COMPILED_RULES = tuple((re.compile(pattern), repl) for pattern, repl in _PHONETIC_RULES)
_SILENT_ENDINGS = re.compile(r"(?:e?[sxzdt]|e)+$")
_VOWELS = re.compile(r"[aeiouy]+")
_DOUBLES = re.compile(r"(.)\1+")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str) -> str:
    """Lower case, no accents, ligatures opened, every run of non-alphanumerics turned into one space."""
    text = strip_accents(text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae")).lower()
    return _NON_ALNUM.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    return normalise(text).split()


@lru_cache(maxsize=4096)
def phonetic_key(word: str) -> str:
    """A French sound skeleton: 'Lefèvre' and 'Lefebvre' -> 'LFVR', 'Martin' and 'Martine' -> 'MRTN'."""
    text = normalise(word).replace(" ", "")
    if not text:
        return ""
    for pattern, repl in _COMPILED_RULES:
        text = pattern.sub(repl, text)
    text = _SILENT_ENDINGS.sub("", text) or text
    head, tail = text[0], _VOWELS.sub("", text[1:])
    key = _DOUBLES.sub(r"\1", head + tail)
    return key.upper()
