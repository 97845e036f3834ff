"""Call-level escalation triggers: a pure, stateful monitor fed once per caller turn and on call events."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

from escalation.thresholds import Thresholds

Level = Literal["routine", "urgent", "emergency"]
Action = Literal["advise_15", "handoff", "callback", "self_service"]
TriggerName = Literal[
    "human_request",
    "clinical_question",
    "distress",
    "misunderstanding",
    "low_confidence",
    "silence",
    "call_too_long",
    "component_failure",
    "red_flag",
]

LEVEL_RANK: dict[str, int] = {"routine": 0, "urgent": 1, "emergency": 2}
LEVELS: tuple[Level, ...] = get_args(Level)
TRIGGERS: tuple[TriggerName, ...] = get_args(TriggerName)

# When several triggers fire on the same event, the first of this order is reported (after the level).
_PRIORITY: tuple[TriggerName, ...] = (
    "red_flag",
    "component_failure",
    "human_request",
    "distress",
    "clinical_question",
    "misunderstanding",
    "low_confidence",
    "silence",
    "call_too_long",
)

_DISTRESS_NEEDED: dict[str, int] = {"high": 1, "medium": 2, "low": 3}

_COMPONENT_LABELS: dict[str, str] = {
    "stt": "reconnaissance vocale",
    "tts": "synthèse vocale",
    "llm": "modèle de dialogue",
    "calendar": "agenda",
    "queue": "file d'attente",
    "database": "base de données",
}


@dataclass(frozen=True)
class TurnSignal:
    """What the voice agent knows about one caller turn (the triage decision mapped to plain fields)."""

    text: str
    level: Level = "routine"
    action: Action = "self_service"
    intent: str = "other"
    rule_ids: tuple[str, ...] = ()
    clinical_question: bool = False
    second_opinion_level: Level | None = None


@dataclass(frozen=True)
class Escalation:
    """A trigger fired: what to do, how urgently, why (French, for the summary) and the caller's words."""

    trigger: TriggerName
    level: Level
    action: Action
    reason: str
    evidence: str = ""
    also: tuple[TriggerName, ...] = ()


# --- text matching ----------------------------------------------------------------------------------

_APOSTROPHES = "'’`´ʼ"
_CLAUSE_BREAKS = ",.;:!?"
_NEGATION_BRIDGE = frozenset(
    {"de", "d", "du", "tout", "besoin", "envie", "vraiment", "trop", "si", "t", "want", "need", "to", "really"}
)
_NEGATORS = frozenset(
    {"pas", "jamais", "aucun", "aucune", "sans", "not", "never", "no", "don", "didn", "isn", "doesn", "wasn"}
)


def fold(text: str) -> str:
    """Lower-case, accent-free, apostrophes as spaces; same length as `text` so spans map back."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0].lower()[:1] or " "
        out.append(" " if base in _APOSTROPHES or base == "-" else base)
    return "".join(out)


def _phrases(*patterns: str) -> re.Pattern[str]:
    """One regex of folded phrases; " " matches white space, " ?" optional white space."""
    body = "|".join(p.replace(" ?", r"\s*").replace(" ", r"\s+") for p in patterns)
    return re.compile(rf"\b(?:{body})\b")


def _negated(folded: str, start: int) -> bool:
    """Whether a negation governs the words at `start`: "pas", "pas besoin de", "don't want to"..."""
    before = folded[:start]
    cut = max(before.rfind(c) for c in _CLAUSE_BREAKS)
    words = before[cut + 1 :].split()[-4:]
    for i in range(len(words) - 1, -1, -1):
        if words[i] in _NEGATORS:
            return True
        if words[i] not in _NEGATION_BRIDGE:
            return False
    return False


def find_phrase(pattern: re.Pattern[str], text: str) -> str | None:
    """The caller's own words matched by `pattern`, outside a negation; None if nothing matches."""
    folded = fold(text)
    for match in pattern.finditer(folded):
        if not _negated(folded, match.start()):
            return text[match.start() : match.end()]
    return None


_HUMAN_TARGET = (
    r"(quelqu ?un|une? (vraie? )?personne|(un |une )?(etre )?humaine?|(la |une |un |votre )?secretaire"
    r"|(le |au )?secretariat|(le |la |un |une |mon |ma |votre )?(docteur|medecin|doctoresse)"
    r"|(un |une )?(operateur|operatrice|conseiller|conseillere|standardiste))"
)

HUMAN_REQUEST = _phrases(
    rf"(parler|causer|discuter) (a|avec|au) {_HUMAN_TARGET}",
    rf"passez moi {_HUMAN_TARGET}",
    r"(une|un) (vraie|vrai) (personne|humain|secretaire)",
    r"pas (a )?un robot",
    r"(speak|talk) (to|with) (someone|somebody|a (real )?(person|human)|the (doctor|receptionist|secretary)"
    r"|an operator|a receptionist)",
    r"(a )?real person",
    r"(a )?human being",
)

_MEDS_FR = (
    r"(doliprane|dafalgan|efferalgan|paracetamol|ibuprofene|advil|nurofen|aspirine|spasfon|smecta"
    r"|antibiotiques?|augmentin|amoxicilline|cortisone|anti ?inflammatoires?|medicaments?|medocs?"
    r"|comprimes?|cachets?|gelules?|sirop|traitement|pilule|gouttes|vaccin|creme|pommade"
    r"|quelque chose (pour|contre))"
)
_MEDS_EN = (
    r"(paracetamol|acetaminophen|tylenol|ibuprofen|advil|aspirin|antibiotics?|medicine|medication"
    r"|pills?|tablets?|syrup|something for)"
)

CLINICAL_QUESTION = _phrases(
    r"est ce (que )?(c est |ce serait |ca peut etre |c etait )?(grave|dangereux|normal|inquietant)",
    r"c est grave",
    rf"(prendre|donner|arreter|augmenter|diminuer|doubler|melanger) (\w+ ){{0,3}}{_MEDS_FR}",
    r"quelle (dose|posologie)",
    r"combien de (comprimes|gelules|cachets|gouttes|sachets)",
    r"posologie",
    r"effets? (secondaires?|indesirables?)",
    r"(mes|ses|les|des|le|mon|son) resultats?",
    r"resultats? (de |d |du )(analyses?|prise de sang|bilan|radio|scanner|irm|echo|biopsie|test)",
    r"is (it|this|that) (serious|dangerous|normal)",
    r"should i (be worried|worry)",
    rf"(take|give|stop) (\w+ ){{0,3}}{_MEDS_EN}",
    r"(what|which) dose",
    r"how many (pills|tablets|capsules)",
    r"side effects?",
    r"(my|the|his|her) (test |blood )?results",
)

_DISTRESS_LEXICON: tuple[tuple[int, re.Pattern[str]], ...] = (
    (3, _phrases(
        r"au secours", r"a l aide", r"aidez moi", r"je (panique|suis en panique)",
        r"(je suis |suis )?(completement |tres )?paniquee?", r"help me", r"i ?m panicking",
        r"i ?m terrified", r"je suis terrifiee?",
    )),
    (2, _phrases(
        r"j ?ai (tres |tellement |vraiment |trop )?peur(?! (que|qu|de|d)\b)",
        r"j ?ai (tres |tellement |vraiment |trop )peur",
        r"je n ?en peux plus", r"je ne sais plus quoi faire", r"je suis desesperee?",
        r"c est (inadmissible|scandaleux|honteux|une honte|n importe quoi)", r"inacceptable",
        r"vous vous (foutez|moquez) de (moi|nous)", r"je vais porter plainte", r"fait chier",
        r"connard", r"connasse", r"salope", r"encule", r"fuck(ing)?", r"fuck you",
        r"i ?m (so |really |very )?(scared|frightened)", r"this is (outrageous|unacceptable)",
        r"unacceptable", r"i can ?t take (it|this) anymore",
    )),
    (1, _phrases(
        r"j ?ai peur",
        r"je suis (\w+ ){0,2}(inquiete?|angoissee?|stressee?|enervee?|furieu(x|se))",
        r"je m inquiete", r"j ?en ai (marre|ras le bol)", r"ras le bol", r"c est pas normal",
        r"ca fait (\w+ )?(fois|heures?) que j ?(appelle|attends)", r"ridicule", r"putain", r"merde",
        r"bordel", r"shit", r"damn", r"i ?m (so |really |very )?(worried|anxious|upset|angry|afraid)",
        r"ridiculous",
    )),
)


def distress_score(text: str) -> tuple[int, str | None]:
    """The strongest distress or anger weight found in `text` (0 to 3) and the caller's words."""
    for weight, pattern in _DISTRESS_LEXICON:
        words = find_phrase(pattern, text)
        if words is not None:
            return weight, words
    return 0, None


# --- levels -----------------------------------------------------------------------------------------


def max_level(*levels: Level) -> Level:
    """The most urgent of `levels` (routine when none)."""
    return max(levels, key=LEVEL_RANK.__getitem__, default="routine")


def apply_second_opinion(decision_level: Level, opinion_level: Level | str | None) -> Level:
    """The protocol's level, raised (never lowered) by an LLM's second opinion; junk opinions are ignored."""
    if opinion_level not in LEVEL_RANK:
        return decision_level
    opinion: Level = LEVELS[LEVEL_RANK[str(opinion_level)]]
    return max_level(decision_level, opinion)


# --- the monitor ------------------------------------------------------------------------------------


@dataclass
class _Counters:
    human_requests: int = 0
    misunderstood: int = 0
    low_confidence: int = 0
    silences: int = 0
    distress: int = 0


@dataclass
class CallMonitor:
    """The stateful triggers of one call; every `on_*` method returns the escalation to report, if any."""

    thresholds: Thresholds
    call_level: Level = field(default="routine", init=False)
    fired: dict[TriggerName, Level] = field(default_factory=dict, init=False)
    history: list[Escalation] = field(default_factory=list, init=False)
    _counts: _Counters = field(default_factory=_Counters, init=False, repr=False)

    def on_turn(
        self,
        signal: TurnSignal,
        *,
        stt_confidence: float | None = None,
        understood: bool = True,
        elapsed_s: float = 0.0,
    ) -> Escalation | None:
        """Feed one final caller turn; returns the most important new escalation it caused."""
        self._counts.silences = 0
        candidates = [
            self._red_flag(signal),
            self._human_request(signal),
            self._distress(signal),
            self._clinical_question(signal),
            self._misunderstanding(signal, understood),
            self._low_confidence(signal, stt_confidence),
            self._too_long(elapsed_s),
        ]
        return self._report(candidates)

    def on_silence(self, seconds: float) -> Escalation | None:
        """The caller stayed silent `seconds` after the agent spoke (one call per unanswered prompt)."""
        if seconds < self.thresholds.max_silence_seconds:
            return None
        self._counts.silences += 1
        if self._counts.silences < self.thresholds.max_silences:
            return None
        reason = f"Pas de réponse du patient après {self._counts.silences} relances."
        return self._report([self._make("silence", "handoff", reason)])

    def on_component_failure(self, component: str) -> Escalation | None:
        """A component (stt, tts, llm, calendar...) failed: hand the call to a human at once."""
        label = _COMPONENT_LABELS.get(component.lower(), component)
        reason = f"Panne technique ({label}) : une secrétaire doit reprendre l'appel."
        return self._report([self._make("component_failure", "handoff", reason)])

    def on_tick(self, elapsed_s: float) -> Escalation | None:
        """Periodic clock of the call (seconds since pick-up)."""
        return self._report([self._too_long(elapsed_s)])

    @property
    def escalated(self) -> bool:
        """Whether any trigger has fired during this call."""
        return bool(self.history)

    # --- one function per trigger -----------------------------------------------------------------

    def _red_flag(self, signal: TurnSignal) -> Escalation | None:
        level = signal.level
        if self.thresholds.llm_second_opinion:
            level = apply_second_opinion(level, signal.second_opinion_level)
        self.call_level = max_level(self.call_level, level)
        if level == "routine":
            return None
        action = signal.action if level == signal.level else "self_service"
        rules = ", ".join(signal.rule_ids) or "second avis"
        label = "urgence vitale" if level == "emergency" else "urgent"
        reason = f"Signal d'alerte ({label}) : {rules}."
        return Escalation("red_flag", level, self._level_action(level, action), reason, signal.text.strip())

    def _human_request(self, signal: TurnSignal) -> Escalation | None:
        words = find_phrase(HUMAN_REQUEST, signal.text)
        if signal.intent != "human" and words is None:
            return None
        self._counts.human_requests += 1
        needed = 1 if self.thresholds.human_request_immediate else 2
        if self._counts.human_requests < needed:
            return None
        reason = "Le patient demande à parler à une personne."
        return self._make("human_request", "handoff", reason, signal.text)

    def _distress(self, signal: TurnSignal) -> Escalation | None:
        weight, words = distress_score(signal.text)
        self._counts.distress += weight
        if weight == 0 or self._counts.distress < _DISTRESS_NEEDED[self.thresholds.distress_sensitivity]:
            return None
        reason = f"Détresse ou colère exprimée par le patient : « {words} »."
        return self._make("distress", "handoff", reason, signal.text)

    def _clinical_question(self, signal: TurnSignal) -> Escalation | None:
        if not signal.clinical_question and find_phrase(CLINICAL_QUESTION, signal.text) is None:
            return None
        reason = "Question médicale à laquelle l'agent ne doit pas répondre."
        return self._make("clinical_question", self.thresholds.clinical_question_action, reason, signal.text)

    def _misunderstanding(self, signal: TurnSignal, understood: bool) -> Escalation | None:
        self._counts.misunderstood = 0 if understood else self._counts.misunderstood + 1
        if self._counts.misunderstood < self.thresholds.max_misunderstandings:
            return None
        reason = f"L'agent n'a pas compris le patient {self._counts.misunderstood} fois de suite."
        return self._make("misunderstanding", "handoff", reason, signal.text)

    def _low_confidence(self, signal: TurnSignal, confidence: float | None) -> Escalation | None:
        if confidence is None:
            return None
        low = confidence < self.thresholds.low_confidence_score
        self._counts.low_confidence = self._counts.low_confidence + 1 if low else 0
        if self._counts.low_confidence < self.thresholds.low_confidence_turns:
            return None
        reason = f"Reconnaissance vocale peu fiable sur {self._counts.low_confidence} tours de suite."
        return self._make("low_confidence", "handoff", reason, signal.text)

    def _too_long(self, elapsed_s: float) -> Escalation | None:
        limit = self.thresholds.max_call_seconds
        if elapsed_s <= limit:
            return None
        reason = f"Appel trop long (plus de {limit // 60} min {limit % 60:02d} s)."
        return self._make("call_too_long", "handoff", reason)

    # --- reporting --------------------------------------------------------------------------------

    def _make(self, trigger: TriggerName, action: Action, reason: str, evidence: str = "") -> Escalation:
        """An escalation at the call's current level (an urgent call stays urgent whatever the trigger)."""
        level = self.call_level
        return Escalation(trigger, level, self._level_action(level, action), reason, evidence.strip())

    def _level_action(self, level: Level, action: Action) -> Action:
        """The action fitting `level`: never self-service for an escalation; 15 for an emergency."""
        if level == "emergency" and action in ("self_service", "callback"):
            return "advise_15"
        if level == "urgent" and action == "self_service":
            return self.thresholds.urgent_action
        return "handoff" if action == "self_service" else action

    def _is_new(self, escalation: Escalation) -> bool:
        """Each trigger is reported once per call; a red flag again only when its level rises."""
        previous = self.fired.get(escalation.trigger)
        if previous is None:
            return True
        return escalation.trigger == "red_flag" and LEVEL_RANK[escalation.level] > LEVEL_RANK[previous]

    def _report(self, candidates: Iterable[Escalation | None]) -> Escalation | None:
        """Keep new escalations only, record them, and return the most important one."""
        new = [e for e in candidates if e is not None and self._is_new(e)]
        if not new:
            return None
        new.sort(key=lambda e: (-LEVEL_RANK[e.level], _PRIORITY.index(e.trigger)))
        for escalation in new:
            self.fired[escalation.trigger] = escalation.level
        top = new[0]
        if len(new) > 1:
            top = Escalation(top.trigger, top.level, top.action, top.reason, top.evidence,
                             tuple(e.trigger for e in new[1:]))
        self.history.append(top)
        return top
