"""Where a finding stands: negated ("pas de fièvre"), in the past ("un AVC il y a deux ans"), or now."""

from __future__ import annotations

import re
from dataclasses import dataclass

from escalation.triage.normalise import Number, Token, words

NEGATION_CUES = words("pas sans aucun aucune jamais ni rien no not without never nor none neither")
_NE = words("ne n")
_EN_NOT = words("don doesn didn isn wasn hasn haven hadn aren weren")
_ABILITY = words(
    "peux peut peuvent pouvait pouvais pourra arrive arrives arrivent arrivait arrivais parvient "
    "parviens reussit reussis reussi sent sens sentait sentais voit vois voyait entend entends bouge bougent "
    "respire repond reagit tient tiens porte portent"
)
"""After these, "plus"/"pas" is a finding, not a negation: "il ne sent plus sa jambe", "il ne bouge plus"."""
_PSEUDO_AFTER = words("sur sure normal normale bien grave que seulement terrible fort forte well good right ok okay")
FILLERS = words(
    "de d du des la le les l un une eu a au aux ma mon sa son ses mes ta ton tes leur vraiment trop "
    "tout en y fait ressenti senti remarque vu present presente notion signe signes symptome symptomes "
    "have has had any the got really much his her my their an felt noticed sign signs of having avoir get "
    "getting feel feeling ressens ressent ressenti vraiment jamais"
)
_MAX_FILLERS = 4
_MAX_CONTENT = 1
_OR = words("or ou nor")
_SCOPE_BREAKERS = words(
    "arrete arreter arretait arretent cesse cesser stop stops stopping quit aussi autant comme like such tellement"
)
"""Words that end a negation's reach: "il n'arrête pas de saigner", "jamais eu aussi mal", "never had pain like"."""
CLAUSE_WORDS = words("mais but et and puis ensuite maintenant now cependant however sauf except alors sinon")
_CLAUSE_RAW = ("là", "aujourd")
_PUNCT = re.compile(r"[.,;:!?()\[\]\n]")

_DISTANT_UNITS = words("an ans annee annees mois year years month months")
_QUANTITY = words("quelques plusieurs des few several many")
_HISTORY_PHRASES: tuple[tuple[str, ...], ...] = (
    ("annee", "derniere"), ("an", "dernier"), ("an", "passe"), ("annee", "passee"), ("dans", "le", "passe"),
    ("autrefois",), ("depuis", "longtemps"), ("depuis", "toujours"), ("antecedent",), ("antecedents",),
    ("quand", "j", "etais"), ("quand", "il", "etait"), ("quand", "elle", "etait"), ("last", "year"),
    ("history", "of"), ("years", "ago"), ("months", "ago"), ("ancien",), ("ancienne",),
    ("previous",), ("est", "mort"), ("est", "morte"), ("est", "decede"), ("died",),
    ("a", "l", "epoque"), ("as", "a", "child"), ("enfant", "j"), ("jeune", "j"), ("mois", "dernier"),
    ("last", "month"), ("quand", "elle", "etait"), ("when", "he", "was"), ("when", "she", "was"),
    ("when", "i", "was"),
)
_HISTORY_BY_FIRST: dict[str, tuple[tuple[str, ...], ...]] = {
    first: tuple(p for p in _HISTORY_PHRASES if p[0] == first) for first in {p[0] for p in _HISTORY_PHRASES}
}
_EVENT_CUES = words("apres after suite")
_SINCE_CUES = words("depuis since")
_PAST_EVENTS = words(
    "infarctus avc attaque accident operation intervention chute accouchement hospitalisation embolie pontage "
    "stroke surgery operation fall crash"
)
"""After "depuis son" / "since my", only a one-off event is in the past ("depuis ma sciatique" goes on)."""
_NE_CLITICS = words("se s me m te t lui le la l y en nous vous")
_NE_AFTER = words("pas plus jamais rien guere")
_EVENT_POSSESSIVES = words("son sa ses mon ma mes his her my their leur")
_YEAR_REACH = 6
"""A year ("en 2015") dates the words near it, not a whole run-on sentence."""


@dataclass(frozen=True)
class Scope:
    """Per-token facts of one utterance: clause number, history clauses, and negation cue positions."""

    clause: tuple[int, ...]
    history_clauses: frozenset[int]
    cues: frozenset[int]
    past_positions: frozenset[int] = frozenset()

    def negated(self, first: int, words_: list[str]) -> bool:
        """A negation cue precedes the span within its clause, with only filler words between, or at most
        _MAX_CONTENT words of the same noun phrase ("no chest pain", "pas de grosse douleur")."""
        pos, fillers, content = first - 1, 0, 0
        while pos >= 0 and self.clause[pos] == self.clause[first]:
            if pos in self.cues:
                return True
            if words_[pos] in _SCOPE_BREAKERS:
                return False
            if words_[pos] in _OR:  # "no chest pain or shortness of breath": the negation goes on
                return pos > 0 and self.negated(pos - 1, words_)
            if words_[pos] in FILLERS and fillers < _MAX_FILLERS:
                fillers += 1
            elif words_[pos] not in FILLERS and content < _MAX_CONTENT and words_[pos].isalpha():
                content += 1
            else:
                return False
            pos -= 1
        return False

    def negated_around(self, first: int, last: int, words_: list[str]) -> bool:
        """French "ne ... pas" around the words: "je ne saigne pas" (a phrase that holds the "pas", such as
        "ne respire pas", is a finding: the span then ends on it)."""
        after = words_[last + 1] if last + 1 < len(words_) else ""
        if after not in _NE_AFTER:
            return False
        before = words_[first - 1] if first else ""
        if before in _NE:
            return True
        return first >= 2 and before in _NE_CLITICS and words_[first - 2] in _NE

    def historical(self, first: int) -> bool:
        """The span sits in a clause that speaks of the distant past ("il y a deux ans"), near a year
        ("en 2015"), or names a past event ("depuis son infarctus", "after her stroke")."""
        return self.clause[first] in self.history_clauses or first in self.past_positions


def build_scope(text: str, tokens: list[Token], nums: list[Number]) -> Scope:
    """Clauses, negation cues and history clauses of one utterance."""
    words_ = [t.norm for t in tokens]
    clause = _clauses(text, tokens)
    cues = frozenset(i for i in range(len(words_)) if _is_cue(words_, i))
    history = frozenset(clause[i] for i in _history_positions(words_))
    return Scope(tuple(clause), history, cues, _past_positions(words_, nums, clause))


def _clauses(text: str, tokens: list[Token]) -> list[int]:
    clause, out = 0, []
    for i, tok in enumerate(tokens):
        gap = text[tokens[i - 1].end : tok.start] if i else ""
        raw = text[tok.start : tok.end].lower()
        if i and (_PUNCT.search(gap) or tok.norm in CLAUSE_WORDS or raw in _CLAUSE_RAW):
            clause += 1
        out.append(clause)
    return out


def _is_cue(words_: list[str], i: int) -> bool:
    word = words_[i]
    prev = words_[i - 1] if i else ""
    nxt = words_[i + 1] if i + 1 < len(words_) else ""
    if word == "t":
        return prev in _EN_NOT
    if word == "plus":
        return any(w in _NE for w in words_[max(0, i - 3) : i]) and prev not in _ABILITY
    if word not in NEGATION_CUES:
        return False
    if word in ("ni", "nor") and any(w in _ABILITY for w in words_[max(0, i - 6) : i]):
        return False  # "il peut plus mettre de chaussure ni marcher": the inability goes on
    if word in ("pas", "not", "jamais", "rien") and (prev in _ABILITY or _before_ability(words_, i)):
        return False
    if word in ("pas", "plus") and prev in _SCOPE_BREAKERS:
        return False  # "il n'arrête pas de saigner": it goes on
    return nxt not in _PSEUDO_AFTER and not (word == "pas" and prev in ("sais", "sait", "passe"))


def _before_ability(words_: list[str], i: int) -> bool:
    """ "je n'arrive pas", "il ne peut pas": inability is a finding, not a negation."""
    return i >= 2 and words_[i - 2] in _ABILITY and words_[i - 1] in ("plus", "meme", "vraiment")


def _history_positions(words_: list[str]) -> list[int]:
    return [i for i in range(len(words_)) if _history_at(words_, i)]


def _past_positions(words_: list[str], nums: list[Number], clause: list[int]) -> frozenset[int]:
    """Tokens dated by a nearby year, and the event named right after "depuis son" / "after her"."""
    out: set[int] = set()
    for n in nums:
        if 1950 <= n.value <= 2030 and n.value.is_integer() and n.first > 0 and words_[n.first - 1] in (
            "en", "in", "depuis", "since"
        ):
            lo, hi = max(0, n.first - _YEAR_REACH), min(len(words_), n.last + 2)
            out.update(i for i in range(lo, hi) if clause[i] == clause[n.first])
    for i in range(1, len(words_) - 1):
        if words_[i] in _EVENT_POSSESSIVES and (
            words_[i - 1] in _EVENT_CUES or (words_[i - 1] in _SINCE_CUES and words_[i + 1] in _PAST_EVENTS)
        ):
            out.add(i + 1)
    return frozenset(out)


def _history_at(words_: list[str], i: int) -> bool:
    phrases = _HISTORY_BY_FIRST.get(words_[i])
    if phrases and any(tuple(words_[i : i + len(p)]) == p for p in phrases):
        return True
    if words_[i] in ("depuis", "for") and _distant_after(words_, i + 1):
        return True  # "depuis des années", "for years": a long-standing complaint, not an acute one
    return words_[i] == "y" and _distant_after(words_, i + 2) and i + 1 < len(words_) and words_[i + 1] == "a"


def _distant_after(words_: list[str], j: int) -> bool:
    """ "il y a [deux|quelques|2] ans/mois/semaines": distant past (days and hours are not)."""
    window = words_[j : j + 3]
    if window and window[0] in _DISTANT_UNITS:
        return True  # "for years", "for months"
    if not window or not any(w in _DISTANT_UNITS for w in window[1:]):
        return False
    return window[0][0].isdigit() or window[0] in _QUANTITY or window[0] in _SMALL_WORDS


_SMALL_WORDS = words("un une deux trois quatre cinq six sept huit neuf dix quinze vingt one two three four five")
