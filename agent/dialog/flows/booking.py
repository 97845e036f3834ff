"""Booking: by practitioner, by specialty or first available; offer slots, pick one, identify, read back, book."""

from __future__ import annotations

from dataclasses import replace

from agent.dialog.entities import choice
from agent.dialog.flows.identity import read_birth_date, read_name_and_birth_date
from agent.dialog.flows.nlu import when_arguments
from agent.dialog.flows.state import DialogState, Step
from agent.dialog.flows.turn import Turn
from agent.dialog.when import WhenConstraint
from agent.tools.speech import spoken_date, spoken_moment

DEFAULT_SPECIALTY = "médecin généraliste"


def start(state: DialogState, turn: Turn) -> Step:
    """A new booking request: take who and when from the words, search at once."""
    state.task = "book"
    state.forget_booking()
    state.practitioner, state.specialty = turn.who
    state.when = turn.when
    state.reason = turn.text if turn.task == "symptom" else ""
    return search(state)


def search(state: DialogState) -> Step:
    specialty = state.specialty
    if not state.practitioner and not specialty:
        specialty = DEFAULT_SPECIALTY
    return state.call("find_slots", practitioner=state.practitioner, specialty=specialty,
                      **when_arguments(state.when))


def refine(state: DialogState, turn: Turn) -> Step | None:
    """New who or when in an answer ("plutôt jeudi après-midi", "non, pas mardi", "avec le Dr Garnier")."""
    practitioner, specialty = turn.who
    when = turn.when
    if not (practitioner or specialty or not when.is_empty()):
        return None
    if practitioner or specialty:
        state.practitioner, state.specialty = practitioner, specialty
    state.when = _without_conflicts(state.when.merged(when)) if not when.is_empty() else state.when
    return search(state)


def _without_conflicts(when: WhenConstraint) -> WhenConstraint:
    """"non, pas jeudi" after "jeudi": the exclusion wins over the day asked before."""
    day = when.day
    if day is not None and (day.weekday() in when.excluded_weekdays or day in when.excluded_days):
        day = None
    return replace(when, day=day, weekdays=when.weekdays - when.excluded_weekdays)


def choose(state: DialogState, turn: Turn) -> Step | None:
    """The caller answers an offer: picks one, asks for another time or practitioner, or says no."""
    offered = state.ctx.offered
    index = choice(turn.text, [s.starts_at for s in offered], state.lang)
    if index is None and turn.yes and len(offered) == 1:
        index = 0
    if index is not None:
        state.slot = index + 1
        return after_choice(state)
    refined = refine(state, turn)
    if refined is not None:
        return refined
    if turn.no:
        return state.ask("ask_when", "ask_when_other")
    return None


def after_choice(state: DialogState) -> Step:
    if state.task == "reschedule":
        return _confirm_reschedule(state)
    return identify(state)


def identify(state: DialogState) -> Step:
    if not state.last_name:
        return state.ask("ask_name", "ask_name")
    if state.birth_date is None:
        return state.ask("ask_birth_date", "ask_birth_date")
    return _read_back(state)


def _read_back(state: DialogState) -> Step:
    slot = state.ctx.offered[(state.slot or 1) - 1]
    name = " ".join(p for p in (state.first_name, state.last_name) if p)
    assert state.birth_date is not None
    return state.ask("confirm_booking", "confirm_booking", when=spoken_moment(slot.starts_at, state.lang),
                     practitioner=slot.practitioner_name, name=name,
                     birth_date=spoken_date(state.birth_date, state.lang))


def take_name(state: DialogState, turn: Turn) -> Step | None:
    return identify(state) if read_name_and_birth_date(state, turn) else None


def take_birth_date(state: DialogState, turn: Turn) -> Step:
    if not read_birth_date(state, turn):
        return Step(state.say("ask_birth_date_again"), understood=False)
    return identify(state)


def confirm(state: DialogState, turn: Turn) -> Step | None:
    """Yes books; a correction (name, date of birth, time) is taken; a plain no asks what to change."""
    if turn.yes and not turn.corrects:
        return state.call("book_appointment", slot_number=state.slot, last_name=state.last_name,
                          first_name=state.first_name, birth_date=state.birth_date.isoformat()
                          if state.birth_date else None, reason=state.reason)
    return correct(state, turn)


def correct(state: DialogState, turn: Turn) -> Step | None:
    person = turn.reader.name(turn.text, expected=False)
    born = turn.reader.birth_date(turn.text, turn.now, state.lang)
    if person is not None or born is not None:
        if person is not None:
            state.first_name, state.last_name = person.first or state.first_name, person.last or state.last_name
        state.birth_date = born or state.birth_date
        return identify(state)
    refined = choose(state, turn)
    if refined is not None:
        return refined
    if turn.no:
        return state.ask("ask_change", "ask_change")
    return None


def _confirm_reschedule(state: DialogState) -> Step:
    ctx = state.ctx
    old = ctx.found[(state.appointment or 1) - 1]
    new = ctx.offered[(state.slot or 1) - 1]
    return state.ask("confirm_reschedule", "confirm_reschedule",
                     old=spoken_moment(old.starts_at, state.lang), new=spoken_moment(new.starts_at, state.lang),
                     practitioner=new.practitioner_name)
