"""Phone-grade turn-taking: when a caller's turn is over (dictated numbers, "euh"), and which words are only fillers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from livekit.agents import llm
from livekit.agents.language import LanguageCode
from livekit.agents.voice.turn import TurnHandlingOptions

FILLERS = frozenset({"euh", "heu", "euhh", "hum", "hmm", "hm", "mmh", "mh", "mhm", "bah", "ben", "hein", "ah", "oh",
                     "uh", "um", "er", "erm"})
BACKCHANNELS = frozenset({"oui", "ouais", "d'accord", "daccord", "ok", "okay", "voila", "bien", "tres", "merci", "si",
                          "yes", "yeah", "right", "sure", "alright", "mm", "exactement", "entendu"})
NUMBER_WORDS = frozenset({
    "zero", "un", "une", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
    "treize", "quatorze", "quinze", "seize", "vingt", "vingts", "trente", "quarante", "cinquante", "soixante",
    "cent", "cents", "mille", "zero-six", "zero-sept", "plus",
})
MONTHS = frozenset({"janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
                    "novembre", "decembre", "january", "february", "march", "april", "may", "june", "july", "august",
                    "september", "october", "november", "december"})
CONNECTORS = frozenset({
    "et", "ou", "de", "du", "des", "le", "la", "les", "l", "d", "a", "au", "aux", "pour", "avec", "mais", "donc",
    "que", "qui", "qu", "mon", "ma", "mes", "ton", "son", "sa", "ses", "un", "une", "en", "dans", "sur", "chez",
    "parce", "est", "c'est", "je", "j", "ne", "suis", "docteur", "dr", "madame",
    "monsieur", "the", "and", "to", "of", "my", "is", "i", "but", "because",
})
_WORD = re.compile(r"[a-z0-9']+")
_ORDINAL = re.compile(r"^\d+(st|nd|rd|th|er|e|eme)$")
_DICTATION_PROMPT = re.compile(r"num[eé]ro|t[eé]l[eé]phone|date de naissance|n[eé]e? le|phone number|date of birth")
PHONE_DIGITS = 10


def _fold(text: str) -> str:
    """Lower case without accents (ASR output varies in both)."""
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of a transcript, folded (no accents, lower case, no punctuation)."""
    return _WORD.findall(_fold(text))


def is_filler(text: str) -> bool:
    """Only hesitation sounds ("euh", "hum") or nothing at all."""
    return all(w in FILLERS for w in words(text))


def is_backchannel(text: str) -> bool:
    """A short acknowledgement ("oui", "d'accord", "mmh") that does not take the turn while the agent speaks."""
    found = words(text)
    return len(found) <= 3 and all(w in FILLERS or w in BACKCHANNELS for w in found)


def turn_incomplete(text: str) -> bool:
    """The caller is likely to go on: a number being dictated, a date without its year, "euh", a dangling word."""
    stripped = text.strip()
    if not stripped or stripped.endswith("?"):
        return False
    if stripped.endswith((",", "...", "…", "-")):
        return True
    found = words(stripped)
    if not found:
        return False
    last = found[-1]
    if last.isdigit() or _ORDINAL.match(last):
        return not number_complete(found)
    return last in NUMBER_WORDS or last in MONTHS or last in FILLERS or last in CONNECTORS


def number_complete(found: list[str]) -> bool:
    """The trailing number is whole: a year (1985), or ten digits or more (a French phone number)."""
    last = found[-1]
    if len(last) == 4 and last.startswith(("19", "20")):
        return True
    digits = 0
    for word in reversed(found):
        if not word.isdigit():
            break
        digits += len(word)
    return digits >= PHONE_DIGITS


def asks_for_dictation(agent_text: str) -> bool:
    """The agent just asked for a phone number or a date of birth: the answer comes in pieces."""
    return bool(_DICTATION_PROMPT.search(_fold(agent_text)))


def last_text(chat_ctx: llm.ChatContext, role: str) -> str:
    """The text of the last message of `role` ("user": the transcript of the turn being decided)."""
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.ChatMessage) and item.role == role:
            return item.text_content or ""
    return ""


def dictation_unfinished(user_text: str, agent_text: str) -> bool:
    """An answer to "your phone number?" / "your date of birth?" that has no whole number yet."""
    if not asks_for_dictation(agent_text) or user_text.strip().endswith("?"):
        return False
    digits = [w for w in words(user_text) if w.isdigit()]
    return not digits or not number_complete(digits)


@dataclass
class PhoneTurnDetector:
    """livekit `_TurnDetector` on transcript heuristics: an incomplete turn gets the long endpointing delay."""

    complete_probability: float = 0.95
    incomplete_probability: float = 0.05

    @property
    def model(self) -> str:
        return "phone-heuristics"

    @property
    def provider(self) -> str:
        return "permanence"

    async def unlikely_threshold(self, language: LanguageCode | None) -> float | None:
        return 0.5

    async def supports_language(self, language: LanguageCode | None) -> bool:
        return True

    async def predict_end_of_turn(self, chat_ctx: llm.ChatContext, *, timeout: float | None = None) -> float:
        text, agent = last_text(chat_ctx, "user"), last_text(chat_ctx, "assistant")
        if turn_incomplete(text) or dictation_unfinished(text, agent):
            return self.incomplete_probability
        return self.complete_probability


@dataclass(frozen=True)
class TurnTiming:
    """The tuned figures (seconds); measured with `permanence bench` and tests/test_turn_taking.py.

    Speculating after 0.1 s of silence makes the transcript ready ~0.45 s after the end of speech (decode
    ~0.25 s) with one stale decode in six turns; the turn then commits at 0.45 s (0.3 s VAD silence plus the
    endpointing delay), 1.6 s when the transcript so far is unfinished. Barge-in needs 0.25 s of continuous
    speech: ~0.3 s from the first word to `clear`; at 0.2-0.22 s, 0.2 s fillers ("euh") interrupted in 4 of
    12 tries, at 0.25 s in none of 12.
    """

    vad_silence_s: float = 0.3
    speculate_after_s: float = 0.1
    min_endpointing_s: float = 0.45
    max_endpointing_s: float = 1.6
    barge_in_min_speech_s: float = 0.25


def phone_turn_handling(timing: TurnTiming | None = None, *, detector: object | None = None) -> TurnHandlingOptions:
    """Endpointing on VAD + transcript heuristics; barge-in on VAD speech; no false-interruption resume."""
    timing = timing or TurnTiming()
    return TurnHandlingOptions(
        turn_detection=detector if detector is not None else PhoneTurnDetector(),  # type: ignore[typeddict-item]
        endpointing={"mode": "fixed", "min_delay": timing.min_endpointing_s, "max_delay": timing.max_endpointing_s},
        interruption={"mode": "vad", "min_duration": timing.barge_in_min_speech_s, "resume_false_interruption": False,
                      "false_interruption_timeout": None, "min_words": 0},
        preemptive_generation={"enabled": False},
    )
