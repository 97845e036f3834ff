"""The deterministic triage guard run on every final caller transcript before any dialog."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import prompts

log = logging.getLogger(__name__)


class TriageOutcome(Protocol):
    """What the guard needs from a triage decision (`escalation.triage.TriageDecision` satisfies it)."""

    @property
    def level(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def context(self) -> Any: ...

    def to_dict(self) -> dict[str, Any]: ...


class Triage(Protocol):
    """A triage engine (`escalation.triage.TriageEngine` satisfies it); `context` carries earlier turns."""

    def assess(self, text: str, *, context: Any = None) -> TriageOutcome: ...


@dataclass(frozen=True)
class GuardResult:
    """What the call does with one caller turn: speak a line instead of the dialog, escalate, or go on."""

    level: str
    action: str
    triage: dict[str, Any] = field(default_factory=dict)
    say: str | None = None
    escalate: bool = False
    context: Any = None

    @property
    def stops_dialog(self) -> bool:
        return self.say is not None


LEVEL_WORDS = {"emergency": "Urgence vitale", "urgent": "Urgent", "routine": "Courant"}


def handoff_reason(result: GuardResult) -> str:
    """The ticket's one-line reason in the secretaries' words: level, then the red flags' labels."""
    labels = [str(rule.get("label")) for rule in result.triage.get("rules", []) if rule.get("label")]
    level = LEVEL_WORDS.get(result.level, result.level)
    return f"{level} : {', '.join(dict.fromkeys(labels))}" if labels else f"{level} (triage)"


def guard_turn(text: str, *, triage: Triage, lang: str = "fr", context: Any = None) -> GuardResult:
    """Assess one final caller transcript; an emergency says "hang up and dial 15", an urgent one hands off.

    `context` is what earlier turns established (the previous result's `context`). A triage engine that
    fails is treated as urgent (fail safe: a human hears the call).
    """
    if not text.strip():
        return GuardResult("routine", "self_service", context=context)
    try:
        decision = triage.assess(text, context=context)
    except Exception as exc:  # by type only: the message may quote the caller
        log.error("triage engine failed; handing the call to a human", extra={"error": type(exc).__name__})
        return GuardResult("urgent", "handoff", {"error": "triage_failed"}, prompts.text("urgent_handoff", lang),
                           True, context)
    return _result(decision, lang)


def _result(decision: TriageOutcome, lang: str) -> GuardResult:
    details, ctx = decision.to_dict(), decision.context
    if decision.level == "emergency" or decision.action == "advise_15":
        return GuardResult(decision.level, decision.action, details, prompts.text("emergency_15", lang), True, ctx)
    if decision.level == "urgent":
        return GuardResult(decision.level, decision.action, details, prompts.text("urgent_handoff", lang), True, ctx)
    return GuardResult(decision.level, decision.action, details, context=ctx)
