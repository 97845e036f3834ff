"""A small French-leaning phonetic key, so that words misheard by speech recognition still meet."""

from __future__ import annotations

import re

_RULES: tuple[tuple[str, str], ...] = (
    (r"ph", "f"),
    (r"ch", "S"),
    (r"qu", "k"),
    (r"c(?=[eiy])", "s"),
    (r"g(?=[eiy])", "j"),
    (r"ck|c|q", "k"),
    (r"gu(?=[ei])", "g"),
    (r"(?<=[aeiouy])s(?=[aeiouy])", "z"),
    (r"eau|au", "o"),
    (r"ai|ei|er$|ez$|et$", "e"),
    (r"[aeo]n(?![aeiouyn])|[aeo]m(?=[bp])", "A"),
    (r"in(?![aeiouyn])|ain|ein|un(?![aeiouyn])", "I"),
    (r"ou", "U"),
    (r"oi", "W"),
    (r"y", "i"),
    (r"h", ""),
    (r"(.)\1+", r"\1"),
    (r"(?<=.)[estxd]$", ""),
    (r"(?<=.)[estxd]$", ""),
)
_COMPILED = tuple((re.compile(pattern), repl) for pattern, repl in _RULES)


def phonetic_key(word: str) -> str:
    """The sound of an accent-free lowercase word ("respire" and "respirer" share one key)."""
    key = word
    for pattern, repl in _COMPILED:
        key = pattern.sub(repl, key)
    return key
