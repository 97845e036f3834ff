"""What the caller wants (book, cancel, a human...), from keyword rules in prompts/triage/intents.yaml."""

from __future__ import annotations

from escalation.triage.findings import Utterance, vocab_spans
from escalation.triage.matching import Phrase
from escalation.triage.models import Intent
from escalation.triage.normalise import words
from escalation.triage.protocol import Protocol

SYMPTOM_PRIORITY_RED_FLAG = 60
"""A red flag outranks "info" or "message" words, but an explicit request (book, human...) stays the intent."""
SYMPTOM_PRIORITY = 20
_EN_WORDS = words(
    "i m my the is it and to a have has he she his her can you please doctor appointment what "
    "where when son daughter got been this that"
)
_FR_WORDS = words(
    "je j ai le la les et de des un une il elle est mon ma mes pour vous au du pas que qui c ca docteur "
    "rendez bonjour"
)


def detect_intent(utt: Utterance, protocol: Protocol, red_flag: bool, symptom_words: bool) -> Intent:
    """The highest-priority intent whose phrases occur; symptoms rank by whether a red flag fired."""
    best: tuple[int, Intent] = (-1, "other")
    for compiled in protocol.intents:
        gap = compiled.spec.max_gap
        if compiled.spec.priority > best[0] and _any_phrase(utt, compiled.phrases, gap) and not (
            compiled.unless and _any_phrase(utt, compiled.unless, gap)
        ):
            best = (compiled.spec.priority, compiled.spec.intent)
    if red_flag or symptom_words:
        symptom_rank = SYMPTOM_PRIORITY_RED_FLAG if red_flag else SYMPTOM_PRIORITY
        if symptom_rank > best[0]:
            best = (symptom_rank, "symptom")
    return best[1]


def _any_phrase(utt: Utterance, phrases: tuple[Phrase, ...], max_gap: int) -> bool:
    index = utt.index
    return any(index.has(phrase[0].key) and index.find(phrase, max_gap) for phrase in phrases)


def has_symptom_words(utt: Utterance, protocol: Protocol) -> bool:
    return "symptom" in protocol.vocab and bool(vocab_spans(utt, protocol, "symptom"))


def language(tokens: list[str]) -> str:
    """ "en" or "fr", by counting common words (French wins ties: it is the product's first language)."""
    en = sum(1 for w in tokens if w in _EN_WORDS)
    fr = sum(1 for w in tokens if w in _FR_WORDS)
    return "en" if en > fr else "fr"
