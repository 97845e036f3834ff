"""Value types of the triage engine: levels, actions, rule hits, call context and the decision."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Level = Literal["emergency", "urgent", "routine"]
Action = Literal["advise_15", "handoff", "callback", "self_service"]
Intent = Literal[
    "book", "cancel", "reschedule", "confirm", "info", "prescription", "message", "human", "symptom", "other"
]

LEVELS: tuple[Level, ...] = ("routine", "urgent", "emergency")
_RANK: dict[str, int] = {name: rank for rank, name in enumerate(LEVELS)}


def level_rank(level: str) -> int:
    """0 for routine, 1 for urgent, 2 for emergency (unknown levels count as emergency: fail safe)."""
    return _RANK.get(level, 2)


def max_level(a: Level, b: Level) -> Level:
    """The more urgent of two levels."""
    return a if level_rank(a) >= level_rank(b) else b


@dataclass(frozen=True)
class RuleHit:
    """One protocol rule that fired, with the caller's own words as evidence."""

    id: str
    level: Level
    label: str
    evidence: str
    action: Action = "self_service"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CallContext:
    """What earlier turns of the same call established, carried to the next assessment."""

    age_months: float | None = None
    subject: str | None = None
    child: bool = False
    pregnant: bool = False
    travel: bool = False
    fever: bool = False
    fever_c: float | None = None
    fever_days: float | None = None
    fever_high_said: bool = False
    anticoagulants: bool = False
    evidence: dict[str, str] = field(default_factory=dict)

    def merged(self, newer: CallContext) -> CallContext:
        """This context updated with what a newer turn established (new facts win, flags stay set)."""
        return replace(
            self,
            age_months=newer.age_months if newer.age_months is not None else self.age_months,
            subject=newer.subject or self.subject,
            child=newer.child if newer.age_months is not None else self.child or newer.child,
            pregnant=self.pregnant or newer.pregnant,
            travel=self.travel or newer.travel,
            fever=self.fever or newer.fever,
            fever_c=_max_opt(self.fever_c, newer.fever_c),
            fever_days=_max_opt(self.fever_days, newer.fever_days),
            fever_high_said=self.fever_high_said or newer.fever_high_said,
            anticoagulants=self.anticoagulants or newer.anticoagulants,
            evidence={**self.evidence, **newer.evidence},
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _max_opt(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass(frozen=True)
class TriageDecision:
    """The outcome of assessing one caller utterance."""

    level: Level
    action: Action
    intent: Intent
    rules: list[RuleHit]
    clinical_question: bool
    findings: dict[str, Any]
    context: CallContext

    @property
    def rule_ids(self) -> list[str]:
        return [hit.id for hit in self.rules]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "action": self.action,
            "intent": self.intent,
            "rules": [hit.to_dict() for hit in self.rules],
            "clinical_question": self.clinical_question,
            "findings": dict(self.findings),
            "context": self.context.to_dict(),
        }
