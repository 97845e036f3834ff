"""ASR-tolerant matching of protocol phrases against caller tokens (exact, fuzzy, phonetic, prefix)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from escalation.triage.normalise import fold, tokenise
from escalation.triage.phonetic import phonetic_key

MIN_FUZZY_LEN = 5
"""Words shorter than this must match exactly: fuzzy matching of short words invents findings."""
MIN_PHONETIC_KEY = 4
OTHER_INITIAL_SCORE = 90
"""A fuzzy match that changes the first letter needs this score ("sitting" is not "fitting")."""
PHONETIC_SLACK = 14
"""A phonetic match may score this much below the fuzzy threshold ("inconsient" ~ "inconscient")."""
_CACHE_LIMIT = 20000


@dataclass(frozen=True)
class Term:
    """One word of a pattern: its folded text, and whether it is a prefix ("respir*")."""

    text: str
    prefix: bool = False
    key: str = field(init=False, compare=False, repr=False)
    """The index key ("poitrine", "respir*"), computed once: matching looks it up thousands of times."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.text + "*" if self.prefix else self.text)


Phrase = tuple[Term, ...]


@dataclass(frozen=True)
class Span:
    """Tokens [first, last] of the caller's text that matched one phrase."""

    first: int
    last: int


def parse_phrase(raw: str) -> Phrase:
    """A pattern string ("douleur poitrine", "respir*", "n'arrive pas") as folded terms."""
    terms: list[Term] = []
    for chunk in raw.split():
        is_prefix = chunk.endswith("*")
        bare = chunk.rstrip("*")
        if bare.isascii() and bare.isalpha() and bare.islower():  # already folded: no tokenising needed
            terms.append(Term(bare, prefix=is_prefix))
            continue
        words = [tok.norm for tok in tokenise(bare)]
        terms.extend(Term(word) for word in words[:-1])
        if words:
            terms.append(Term(words[-1], prefix=is_prefix))
    return tuple(terms)


class TermMatcher:
    """Which pattern terms each caller word stands for, at a given fuzzy score (70–100)."""

    def __init__(self, terms: Iterable[Term], min_score: int) -> None:
        self.min_score = min_score
        unique = set(terms)
        self._exact = {t.text for t in unique if not t.prefix}
        self._long = sorted(t for t in self._exact if len(t) >= MIN_FUZZY_LEN)
        self._prefixes = sorted({t.text for t in unique if t.prefix})
        self._phonetic: dict[str, set[str]] = {}
        for word in self._long:
            key = phonetic_key(word)
            if len(key) >= MIN_PHONETIC_KEY:
                self._phonetic.setdefault(key, set()).add(word)
        self._cache: dict[str, frozenset[str]] = {}

    def keys_for(self, word: str) -> frozenset[str]:
        """The term keys (e.g. "poitrine", "respir*") that this caller word matches."""
        cached = self._cache.get(word)
        if cached is None:
            cached = frozenset(self._compute(word))
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[word] = cached
        return cached

    def _compute(self, word: str) -> set[str]:
        keys: set[str] = {word} if word in self._exact else set()
        keys.update(p + "*" for p in self._prefixes if self._prefix_matches(word, p))
        if len(word) < MIN_FUZZY_LEN or self.min_score >= 100:
            return keys
        if word in self._exact:  # a protocol word means what it says ("facture" is not "fracture")...
            keys.update(t for t in self._fuzzy(word) if _inflection(word, t))  # ...but "rouges" is "rouge"
            return keys
        keys.update(self._fuzzy(word))
        keys.update(self._sounds_like(word))
        return keys

    def _sounds_like(self, word: str) -> list[str]:
        """Same phonetic key and not too different in spelling ("cancel" must not sound like "conseiller")."""
        floor = self.min_score - PHONETIC_SLACK
        return [c for c in self._phonetic.get(phonetic_key(word), ()) if fuzz.ratio(word, c) >= floor]

    def _fuzzy(self, word: str) -> list[str]:
        hits = process.extract(word, self._long, scorer=fuzz.ratio, score_cutoff=self.min_score, limit=None)
        return [hit[0] for hit in hits if hit[0][0] == word[0] or hit[1] >= OTHER_INITIAL_SCORE]

    def _prefix_matches(self, word: str, prefix: str) -> bool:
        if word.startswith(prefix):
            return True
        if len(prefix) < MIN_FUZZY_LEN or self.min_score >= 100 or len(word) < MIN_FUZZY_LEN:
            return False
        if word[0] != prefix[0]:
            return False
        if len(word) < len(prefix):  # a misheard stem cut short: "inconsien" for "inconscient*"
            return len(word) >= len(prefix) - 2 and fuzz.ratio(word, prefix) >= self.min_score
        return fuzz.ratio(word[: len(prefix)], prefix) >= self.min_score


def _inflection(a: str, b: str) -> bool:
    """Two forms of one word: they differ only in their last two letters ("gonflee", "gonfles")."""
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    return shorter.startswith(longer[:-2])


class TokenIndex:
    """For one utterance: where each pattern term occurs."""

    def __init__(self, words: Sequence[str], matcher: TermMatcher) -> None:
        self.size = len(words)
        self._positions: dict[str, list[int]] = {}
        for pos, word in enumerate(words):
            for key in matcher.keys_for(word):
                self._positions.setdefault(key, []).append(pos)

    def has(self, key: str) -> bool:
        """Whether this term key occurs in the utterance."""
        return key in self._positions

    def present(self, keys: frozenset[str]) -> bool:
        """Whether any of these term keys occurs in the utterance."""
        return not keys.isdisjoint(self._positions)

    def positions(self, term: Term) -> list[int]:
        return self._positions.get(term.key, [])

    def find(self, phrase: Phrase, max_gap: int) -> list[Span]:
        """Every occurrence of the phrase, its words in order with at most max_gap words between."""
        if not phrase:
            return []
        starts = self._positions.get(phrase[0].key)
        if not starts:
            return []
        if len(phrase) == 1:
            return [Span(start, start) for start in starts]
        spans: list[Span] = []
        for start in starts:
            end = self._extend(phrase, start, max_gap)
            if end is not None:
                spans.append(Span(start, end))
        return spans

    def _extend(self, phrase: Phrase, start: int, max_gap: int) -> int | None:
        pos = start
        for term in phrase[1:]:
            nxt = next((p for p in self.positions(term) if pos < p <= pos + 1 + max_gap), None)
            if nxt is None:
                return None
            pos = nxt
        return pos


def fold_phrase(raw: str) -> str:
    """The folded display form of a pattern (for error messages and debugging)."""
    return fold(raw)
