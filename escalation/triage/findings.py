"""Facts extracted from one utterance: temperature, age, who is ill, pregnancy, travel, anticoagulants."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from escalation.triage.matching import Span, TokenIndex
from escalation.triage.models import CallContext
from escalation.triage.normalise import Number, Token, words
from escalation.triage.protocol import Protocol
from escalation.triage.scope import Scope

_TEMP_CUES = words("fievre temperature temp degre degres deg fever febrile thermometre thermometer fahrenheit")
_WEAK_TEMP_CUES = words("a ai as avait avais avec at of fait monte jusqu had")
_UNITS_AFTER = words(
    "an ans annee annees mois semaine semaines jour jours heure heures h minute minutes kilo kilos kg "
    "year years month months week weeks day days hour hours minutes kilometres km metres m sa fois times"
)
_AGE_UNITS: dict[str, float] = {
    "mois": 1.0, "month": 1.0, "months": 1.0, "an": 12.0, "ans": 12.0, "annee": 12.0, "annees": 12.0,
    "year": 12.0, "years": 12.0, "semaine": 0.23, "semaines": 0.23, "week": 0.23, "weeks": 0.23,
    "jour": 0.033, "jours": 0.033, "day": 0.033, "days": 0.033,
}
_AGE_CUES = words("de a ai as agee age ages agees aged is am s of fete born")
_NOT_AGE_BEFORE = words("depuis pendant dans for since durant en environ")
_PREGNANCY_AFTER = words("pregnant amenorrhee grossesse enceinte sa")
_DURATION_CUES = words("depuis fait for since pendant durant")
_DURATION_UNITS: dict[str, float] = {
    "jour": 1, "jours": 1, "day": 1, "days": 1, "semaine": 7, "semaines": 7, "week": 7, "weeks": 7,
    "mois": 30, "month": 30, "months": 30,
}
_DURATION_WORDS: dict[tuple[str, ...], float] = {
    ("avant", "hier"): 2, ("hier",): 1, ("yesterday",): 1, ("une", "semaine"): 7, ("a", "week"): 7,
    ("quelques", "jours"): 3, ("plusieurs", "jours"): 3, ("few", "days"): 3, ("several", "days"): 3,
}
_RESOLVED: tuple[tuple[str, ...], ...] = (
    ("en", "a", "plus"), ("a", "passe"), ("est", "passee"), ("est", "partie"), ("est", "tombee"),
    ("has", "gone"), ("went", "away"), ("gone", "down"), ("it", "s", "gone"), ("a", "disparu"),
)
_POSSESSIVES = words("mon ma mes notre nos le la my our his her the leur son sa")
_SUBJECTS: dict[str, bool] = {
    "mari": False, "femme": False, "epouse": False, "conjoint": False, "compagnon": False, "compagne": False,
    "copain": False, "copine": False, "pere": False, "papa": False, "mere": False, "maman": False,
    "frere": False, "soeur": False, "voisin": False, "voisine": False, "ami": False, "amie": False,
    "collegue": False, "grand": False, "oncle": False, "tante": False, "patient": False, "patiente": False,
    "fils": True, "fille": True, "bebe": True, "enfant": True, "petit": True, "petite": True,
    "nourrisson": True, "gamin": True, "gamine": True, "neveu": True, "niece": True, "nouveau": True,
    "husband": False, "wife": False, "partner": False, "dad": False, "father": False, "mum": False,
    "mom": False, "mother": False, "brother": False, "sister": False, "friend": False, "neighbour": False,
    "grandma": False, "grandpa": False, "grandmother": False, "grandfather": False, "boyfriend": False,
    "girlfriend": False, "son": True, "daughter": True, "baby": True, "child": True, "kid": True,
    "toddler": True, "boy": True, "girl": True, "infant": True, "newborn": True,
}
_NEWBORN = (("nouveau", "ne"), ("nouveau", "nee"), ("newborn",), ("new", "born"))
ADULT_MONTHS = 18 * 12
ELDERLY_MONTHS = 75 * 12
"""The age assumed when the caller says the patient is old without a number ("une personne âgée")."""
_ELDERLY = (
    ("personne", "agee"), ("personnes", "agees"), ("je", "suis", "age"), ("je", "suis", "agee"), ("tres", "age"),
    ("tres", "agee"), ("elderly",), ("very", "old"),
)


@dataclass
class Findings:
    """What one utterance says about the patient, with token spans as evidence."""

    temperature_c: float | None = None
    fever: bool = False
    fever_high_said: bool = False
    fever_days: float | None = None
    age_months: float | None = None
    subject: str | None = None
    child: bool = False
    pregnant: bool = False
    travel: bool = False
    anticoagulants: bool = False
    spans: dict[str, Span] = field(default_factory=dict)

    def as_context(self, evidence: Callable[[Span], str]) -> CallContext:
        return CallContext(
            age_months=self.age_months, subject=self.subject, child=self.child, pregnant=self.pregnant,
            travel=self.travel, fever=self.fever, fever_c=self.temperature_c, fever_days=self.fever_days,
            fever_high_said=self.fever_high_said, anticoagulants=self.anticoagulants,
            evidence={name: evidence(span) for name, span in self.spans.items()},
        )


@dataclass(frozen=True)
class Utterance:
    """Everything the extractors need about one utterance."""

    words: list[str]
    tokens: list[Token]
    numbers: list[Number]
    scope: Scope
    index: TokenIndex


def valid_spans(utt: Utterance, spans: list[Span]) -> list[Span]:
    """Spans that are neither negated nor about the distant past."""
    return [
        s for s in spans
        if not utt.scope.negated(s.first, utt.words)
        and not utt.scope.negated_around(s.first, s.last, utt.words)
        and not utt.scope.historical(s.first)
    ]


def vocab_spans(utt: Utterance, protocol: Protocol, name: str, *, past_counts: bool = False) -> list[Span]:
    """Occurrences of a named vocabulary, not negated (and not in the past unless past_counts)."""
    patterns = protocol.vocab[name]
    found = [span for phrase in patterns.phrases for span in utt.index.find(phrase, patterns.max_gap)]
    if past_counts:
        return [s for s in found if not utt.scope.negated(s.first, utt.words)]
    return valid_spans(utt, found)


def _raw_spans(utt: Utterance, protocol: Protocol, name: str) -> list[Span]:
    patterns = protocol.vocab.get(name)
    if patterns is None:
        return []
    return [span for phrase in patterns.phrases for span in utt.index.find(phrase, patterns.max_gap)]


_PAST_COUNTS = frozenset({"malaria_area", "anticoagulant"})
"""A trip is always in the past ("rentré du Mali le mois dernier"), a treatment taken "depuis des années" goes on."""


def extract(utt: Utterance, protocol: Protocol) -> Findings:
    """All findings of one utterance."""
    found = Findings()
    _subject(utt, found)
    _age(utt, found)
    _temperature(utt, found)
    _fever(utt, protocol, found)
    _flag(utt, protocol, found, "pregnancy", "pregnant")
    _flag(utt, protocol, found, "malaria_area", "travel")
    _flag(utt, protocol, found, "anticoagulant", "anticoagulants")
    if found.age_months is not None and found.age_months < ADULT_MONTHS:
        found.child = True
    elif found.age_months is not None:
        found.child = False
    return found


def _flag(utt: Utterance, protocol: Protocol, found: Findings, vocab: str, attr: str) -> None:
    spans = vocab_spans(utt, protocol, vocab, past_counts=vocab in _PAST_COUNTS)
    if spans:
        setattr(found, attr, True)
        found.spans[attr] = spans[0]


def _subject(utt: Utterance, found: Findings) -> None:
    for i in range(len(utt.words)):
        if any(tuple(utt.words[i : i + len(p)]) == p for p in _NEWBORN):
            found.subject, found.child, found.age_months = "newborn", True, 0.5
            found.spans["subject"] = found.spans["age"] = Span(i, i)
            return
    for i, word in enumerate(utt.words):
        if word in _SUBJECTS and i > 0 and utt.words[i - 1] in _POSSESSIVES:
            found.subject, found.child = word, _SUBJECTS[word]
            found.spans["subject"] = Span(i - 1, i)
            return


def _age(utt: Utterance, found: Findings) -> None:
    for num in utt.numbers:
        months = _age_of(utt.words, num, found.subject is not None)
        if months is not None:
            found.age_months = round(months, 2)
            found.spans["age"] = Span(num.first, min(num.last + 1, len(utt.words) - 1))
            return
    if found.age_months is None:
        for i in range(len(utt.words)):
            match = next((p for p in _ELDERLY if tuple(utt.words[i : i + len(p)]) == p), None)
            if match is not None:
                found.age_months = ELDERLY_MONTHS
                found.spans["age"] = Span(i, i + len(match) - 1)
                return


def _age_of(w: list[str], num: Number, has_subject: bool) -> float | None:
    before = w[num.first - 1] if num.first > 0 else ""
    unit = w[num.last + 1] if num.last + 1 < len(w) else ""
    after = w[num.last + 2] if num.last + 2 < len(w) else ""
    if not 0 < num.value <= 110 or before in _NOT_AGE_BEFORE or after in _PREGNANCY_AFTER:
        return None
    if after in ("de", "d", "of") and unit in _AGE_UNITS:
        return None  # "il a 3 jours de fièvre", "5 mois de grossesse": a duration, not an age
    if w[max(0, num.first - 2) : num.first] == ["y", "a"]:
        born = num.first >= 4 and w[num.first - 4] in ("ne", "nee", "nes") and unit in _AGE_UNITS
        return num.value * _AGE_UNITS[unit] if born else None
    if num.first >= 2 and w[num.first - 2] in ("enceinte", "grossesse", "pregnant"):
        return None
    if unit in _AGE_UNITS and (before in _AGE_CUES or after == "old"):
        half = 0.5 if after == "et" and num.last + 3 < len(w) and w[num.last + 3] == "demi" else 0.0
        return (num.value + half) * _AGE_UNITS[unit]
    if before in ("is", "s") and has_subject and unit not in _UNITS_AFTER and num.value >= 1:
        return num.value * 12
    return None


def _temperature(utt: Utterance, found: Findings) -> None:
    for num in utt.numbers:
        celsius = _celsius(utt.words, num)
        if celsius is not None and (found.temperature_c is None or celsius > found.temperature_c):
            found.temperature_c = round(celsius, 1)
            found.spans["temperature"] = Span(num.first, num.last)


def _celsius(w: list[str], num: Number) -> float | None:
    unit = w[num.last + 1] if num.last + 1 < len(w) else ""
    if unit in _UNITS_AFTER:
        return None
    near = set(w[max(0, num.first - 6) : num.first]) | set(w[num.last + 1 : num.last + 4])
    value = num.value
    if 95 <= value <= 108 and near & _TEMP_CUES:
        return (value - 32) * 5 / 9
    if not 34 <= value <= 43:
        return None
    before = w[num.first - 1] if num.first > 0 else ""
    decimal = not value.is_integer()
    if near & _TEMP_CUES or (decimal and value >= 37) or (38 <= value <= 41 and before in _WEAK_TEMP_CUES):
        return value
    return None


def _fever(utt: Utterance, protocol: Protocol, found: Findings) -> None:
    not_fever = _raw_spans(utt, protocol, "not_fever")  # "bouton de fièvre", "hay fever"
    spans = [s for s in vocab_spans(utt, protocol, "fever")
             if not any(n.first <= s.last and s.first <= n.last for n in not_fever)]
    high = vocab_spans(utt, protocol, "high_fever")
    if high:
        found.fever_high_said = True
        found.spans["fever"] = high[0]
    if found.temperature_c is not None:
        found.fever = found.temperature_c >= 38.0
    elif spans and not _resolved_after(utt.words, spans[-1]):
        found.fever = True
    if found.fever and "fever" not in found.spans:
        found.spans["fever"] = spans[0] if spans else found.spans["temperature"]
    if found.fever:
        found.fever_days = _duration_days(utt)


def _resolved_after(w: list[str], span: Span) -> bool:
    """ "il a eu de la fièvre hier mais il n'en a plus": the fever is over."""
    rest = w[span.last + 1 : span.last + 14]
    return any(tuple(rest[i : i + len(p)]) == p for p in _RESOLVED for i in range(len(rest)))


def _duration_days(utt: Utterance) -> float | None:
    """The longest duration said ("depuis trois jours", "for a week", "depuis avant-hier")."""
    best: float | None = None
    w = utt.words
    for num in utt.numbers:
        unit = w[num.last + 1] if num.last + 1 < len(w) else ""
        before = w[max(0, num.first - 3) : num.first]
        if unit in _DURATION_UNITS and (set(before) & _DURATION_CUES or "que" in w[num.last + 2 : num.last + 3]):
            best = max(best or 0.0, num.value * _DURATION_UNITS[unit])
    for i in range(len(w)):
        for phrase, days in _DURATION_WORDS.items():
            if tuple(w[i : i + len(phrase)]) == phrase and set(w[max(0, i - 2) : i]) & _DURATION_CUES:
                best = max(best or 0.0, days)
    return best
