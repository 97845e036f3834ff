"""What-if replay: run caller utterances under two threshold configurations and compare the outcomes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from escalation.triage import TriageDecision, TriageEngine
from escalation.triage.models import level_rank

ESCALATING_ACTIONS = frozenset({"advise_15", "handoff", "callback"})


@dataclass(frozen=True)
class Utterance:
    """One recorded or evaluation utterance; `level` is the reference label when known."""

    id: str
    text: str
    level: str | None = None


@dataclass
class ConfigFigures:
    """How one configuration handled the utterances."""

    total: int = 0
    escalated: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    labelled: int = 0
    correct: int = 0
    emergencies: int = 0
    emergencies_caught: int = 0
    emergencies_as_routine: int = 0
    over_triaged: int = 0

    def add(self, decision: TriageDecision, label: str | None) -> None:
        self.total += 1
        self.levels[decision.level] += 1
        self.actions[decision.action] += 1
        self.escalated += decision.action in ESCALATING_ACTIONS
        if label is not None:
            self._add_labelled(decision.level, label)

    def _add_labelled(self, level: str, label: str) -> None:
        self.labelled += 1
        self.correct += level == label
        self.over_triaged += level_rank(level) > level_rank(label)
        if label == "emergency":
            self.emergencies += 1
            self.emergencies_caught += level == "emergency"
            self.emergencies_as_routine += level == "routine"

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "escalation_rate": _ratio(self.escalated, self.total),
            "levels": dict(self.levels),
            "actions": dict(self.actions),
            "labelled": self.labelled,
            "accuracy": _ratio(self.correct, self.labelled),
            "emergencies": self.emergencies,
            "emergencies_caught": self.emergencies_caught,
            "emergencies_as_routine": self.emergencies_as_routine,
            "over_triage_rate": _ratio(self.over_triaged, self.labelled),
        }


@dataclass(frozen=True)
class ChangedOutcome:
    """An utterance the draft would handle differently from the active configuration."""

    id: str
    active: dict[str, str]
    draft: dict[str, str]


@dataclass
class ReplayReport:
    active: ConfigFigures
    draft: ConfigFigures
    changed: list[ChangedOutcome]

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": self.active.to_dict(),
            "draft": self.draft.to_dict(),
            "changed": [c.__dict__ for c in self.changed],
        }


def replay(utterances: Iterable[Utterance], *, active: TriageEngine, draft: TriageEngine) -> ReplayReport:
    """Assess every utterance under both engines (same protocol, different thresholds)."""
    report = ReplayReport(ConfigFigures(), ConfigFigures(), [])
    for utterance in utterances:
        before = active.assess(utterance.text)
        after = draft.assess(utterance.text)
        report.active.add(before, utterance.level)
        report.draft.add(after, utterance.level)
        if (before.level, before.action) != (after.level, after.action):
            report.changed.append(ChangedOutcome(utterance.id, _outcome(before), _outcome(after)))
    return report


def _outcome(decision: TriageDecision) -> dict[str, str]:
    return {"level": decision.level, "action": decision.action}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
