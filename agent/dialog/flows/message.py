"""A message for a practitioner or the front desk (prescription, results, certificate): a ticket, never advice."""

from __future__ import annotations

import re

from agent.dialog.flows.identity import read_birth_date, read_name_and_birth_date
from agent.dialog.flows.state import DialogState, Step
from agent.dialog.flows.turn import Turn
from agent.dialog.text import normalise, word_count

_SUBJECTS = (
    ("prescription", re.compile(r"\b(?:ordonnance|renouvel\w*|prescription|traitement|medicaments?|refill)\b")),
    ("results", re.compile(r"\b(?:resultats?|results?|analyses?|prise de sang|bilan)\b")),
    ("certificate", re.compile(r"\b(?:certificats?|certificate|attestation|arret de travail|sick note)\b")),
)


def subject_of(text: str) -> str:
    key = normalise(text)
    return next((name for name, pattern in _SUBJECTS if pattern.search(key)), "other")


def start(state: DialogState, turn: Turn, *, preface: str = "") -> Step:
    state.task, state.subject = "message", subject_of(turn.text)
    practitioner, _ = turn.who
    state.recipient = practitioner
    state.message = turn.text.strip() if word_count(turn.text) >= 5 or state.subject != "other" else ""
    person = turn.reader.name(turn.text, expected=False)
    if person is not None:
        state.first_name, state.last_name = person.first or state.first_name, person.last or state.last_name
    step = _next(state)
    return Step(f"{preface} {step.say}".strip(), step.call, step.understood) if preface else step


def _next(state: DialogState) -> Step:
    if not state.message:
        return state.ask("ask_message_text", "message_ask_text")
    if not state.last_name:
        return state.ask("ask_message_name", "message_ask_name")
    if state.birth_date is None:
        return state.ask("ask_message_dob", "ask_birth_date")
    recipient = state.recipient or state.say("message_team")
    return state.ask("confirm_message", "message_confirm", recipient=recipient, text=state.message)


def take_text(state: DialogState, turn: Turn) -> Step | None:
    if not turn.text.strip():
        return None
    state.message = turn.text.strip()
    if state.subject == "other":
        state.subject = subject_of(turn.text)
    return _next(state)


def take_name(state: DialogState, turn: Turn) -> Step | None:
    return _next(state) if read_name_and_birth_date(state, turn) else None


def take_birth_date(state: DialogState, turn: Turn) -> Step:
    if not read_birth_date(state, turn):
        return Step(state.say("ask_birth_date_again"), understood=False)
    return _next(state)


def confirm(state: DialogState, turn: Turn) -> Step | None:
    if turn.yes:
        return state.call("leave_message", subject=state.subject, message=state.message, last_name=state.last_name,
                          first_name=state.first_name,
                          birth_date=state.birth_date.isoformat() if state.birth_date else None,
                          practitioner=state.recipient)
    if turn.no:
        state.message = ""
        return state.ask("ask_message_text", "message_ask_text")
    return None
