"""One caller turn as the flows read it: the words, the intent, the reader, and the practice's clock."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property

from agent.dialog.entities import Answer, correction, yes_no
from agent.dialog.flows.nlu import Reader
from agent.dialog.intents import IntentResult
from agent.dialog.when import WhenConstraint


@dataclass
class Turn:
    text: str
    intent: IntentResult
    reader: Reader
    now: datetime
    lang: str

    @cached_property
    def when(self) -> WhenConstraint:
        when = self.reader.when(self.text, self.now, self.lang)
        practitioner, _ = self.who
        if practitioner and when.part_of_day is not None and _names_part(self.text, practitioner):
            when = replace(when, part_of_day=None)  # "docteur matin" was a name, not the morning
        return when

    @cached_property
    def who(self) -> tuple[str | None, str | None]:
        return self.reader.who(self.text)

    @cached_property
    def answer(self) -> Answer | None:
        return yes_no(self.text)

    @property
    def yes(self) -> bool:
        return self.answer is Answer.YES

    @property
    def no(self) -> bool:
        return self.answer is Answer.NO

    @property
    def corrects(self) -> bool:
        return correction(self.text) is not None

    @property
    def task(self) -> str:
        return self.intent.label


def _names_part(text: str, practitioner: str) -> bool:
    """The part-of-day word follows a title ("docteur matin") and the practitioner's name is not that word."""
    slip = re.search(r"\b(?:docteur|dr|doctor)\s+(matin|soir|morning|evening)\b", text, re.IGNORECASE)
    return slip is not None and slip.group(1).lower() not in practitioner.lower()
