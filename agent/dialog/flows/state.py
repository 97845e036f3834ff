"""The per-call state of the offline dialog engine, its steps, and what one turn produces."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from agent.dialog.text import normalise
from agent.dialog.when import WhenConstraint
from agent.tools.context import CallContext
from agent.tools.speech import say


@dataclass(frozen=True)
class ToolCall:
    """A function tool call, as a real model would emit it."""

    name: str
    arguments: dict[str, Any]

    def json(self) -> str:
        return json.dumps({k: v for k, v in self.arguments.items() if v not in (None, [], "")}, ensure_ascii=False)


@dataclass(frozen=True)
class Step:
    """What the agent does with one turn: say something, or call a tool (then say what it returns)."""

    say: str = ""
    call: ToolCall | None = None
    understood: bool = True


@dataclass
class DialogState:
    """Everything the engine remembers of one call (the tools keep the calendar's side in `CallContext`)."""

    ctx: CallContext
    step: str = "start"
    task: str | None = None
    practitioner: str | None = None
    specialty: str | None = None
    when: WhenConstraint = field(default_factory=WhenConstraint)
    slot: int | None = None
    appointment: int | None = None
    first_name: str = ""
    last_name: str = ""
    birth_date: date | None = None
    subject: str = "other"
    message: str = ""
    recipient: str | None = None
    reason: str = ""
    last_said: str = ""
    pending: str | None = None
    asked_dob_to_find: bool = False
    triage_context: Any = None
    caller_turns: int = 0
    language_settled: bool = False
    ended: bool = False

    @property
    def lang(self) -> str:
        return self.ctx.lang

    def say(self, key: str, **fields: Any) -> str:
        return say(key, self.lang, **fields)

    def ask(self, step: str, key: str, **fields: Any) -> Step:
        self.step = step
        return Step(self.say(key, **fields))

    def call(self, name: str, **arguments: Any) -> Step:
        self.pending = name
        return Step(call=ToolCall(name, arguments))

    def forget_booking(self) -> None:
        self.practitioner, self.specialty, self.when, self.slot = None, None, WhenConstraint(), None


_EN_WORDS = """i i'd i'm would like to an the my please hello hi book booking appointment cancel move with is what
    are your you opening hours doctor thank thanks yes no want need can could see want tomorrow morning afternoon
    next week monday tuesday wednesday thursday friday saturday it that this for of me leave message name born
    speak someone where how much does do first second one nurse midwife"""
_EN = frozenset(_EN_WORDS.split())
_FR_WORDS = """je j voudrais veux un une le la les mon ma mes rendez vous rdv avec de du des pour bonjour oui non
    merci annuler deplacer docteur est quels sont vos horaires c s il plait demain matin apres midi semaine
    prochaine lundi mardi mercredi jeudi vendredi samedi a au aux qui que quoi laisser message nom nee ne parler
    quelqu premier deuxieme dernier plutot pas"""
_FR = frozenset(_FR_WORDS.split())


def looks_english(text: str) -> bool:
    """A cheap language guess for the first turns: clearly more English function words than French ones."""
    words = re.findall(r"[a-z']+", normalise(text).replace("'", " "))
    english = sum(w in _EN for w in words)
    french = sum(w in _FR for w in words)
    return english >= 2 and english > 2 * french
