"""Cancel, reschedule or confirm an existing appointment found from the caller's number and name (or birth date)."""

from __future__ import annotations

from agent.dialog.entities import choice
from agent.dialog.flows import booking
from agent.dialog.flows.state import DialogState, Step
from agent.dialog.flows.turn import Turn

TASKS = ("cancel", "reschedule", "confirm")


def start(state: DialogState, turn: Turn) -> Step:
    state.task, state.appointment = turn.task, None
    state.asked_dob_to_find = False
    person = turn.reader.name(turn.text, expected=False)
    born = turn.reader.birth_date(turn.text, turn.now, state.lang)
    if person is not None:
        state.first_name, state.last_name = person.first or "", person.last or ""
    state.birth_date = born or state.birth_date
    if not (state.last_name or state.birth_date):
        return state.ask("ask_manage_name", "ask_appointment_name")
    return find(state)


def find(state: DialogState) -> Step:
    return state.call("find_appointments", last_name=state.last_name or None,
                      birth_date=state.birth_date.isoformat() if state.birth_date else None)


def take_name(state: DialogState, turn: Turn) -> Step | None:
    person = turn.reader.name(turn.text, expected=True)
    born = turn.reader.birth_date(turn.text, turn.now, state.lang)
    if person is None and born is None:
        return None
    if person is not None:
        state.first_name, state.last_name = person.first or "", person.last or ""
    state.birth_date = born or state.birth_date
    return find(state)


def take_birth_date(state: DialogState, turn: Turn) -> Step | None:
    born = turn.reader.birth_date(turn.text, turn.now, state.lang)
    if born is None:
        return take_name(state, turn)
    state.birth_date, state.last_name = born, ""  # the name did not match: the number and birth date decide
    return find(state)


def after_found(state: DialogState, output: str) -> str:
    """What to say once `find_appointments` answered: the next question of the task."""
    found = state.ctx.found
    if not found:
        if not state.asked_dob_to_find and state.birth_date is None:
            state.asked_dob_to_find = True
            state.step = "ask_dob_find"
            return state.say("ask_birth_date_to_find")
        state.step = "offer_message"
        return f"{output} {state.say('appointments_not_found_end')}"
    if len(found) > 1:
        state.step = "choose_appointment"
        return output
    state.appointment = 1
    return f"{output} {_next_question(state)}"


def _next_question(state: DialogState) -> str:
    if state.task == "reschedule":
        state.step = "ask_reschedule_when"
        return state.say("ask_reschedule_when")
    state.step = "confirm_manage"
    return state.say("confirm_cancel" if state.task == "cancel" else "confirm_confirm")


def choose_appointment(state: DialogState, turn: Turn) -> Step | None:
    index = choice(turn.text, [a.starts_at for a in state.ctx.found], state.lang)
    if index is None:
        return None
    state.appointment = index + 1
    return Step(_next_question(state))


def confirm(state: DialogState, turn: Turn) -> Step | None:
    if turn.yes:
        name = "cancel_appointment" if state.task == "cancel" else "confirm_appointment"
        return state.call(name, appointment_number=state.appointment or 1)
    if turn.no:
        return state.ask("anything_else", "anything_else")
    return None


def ask_when(state: DialogState, turn: Turn) -> Step | None:
    """Reschedule: search the same practitioner at the time asked ("the earliest" when none is said)."""
    old = state.ctx.found[(state.appointment or 1) - 1]
    practitioner, specialty = turn.who
    state.practitioner = practitioner or old.practitioner_name
    state.specialty = specialty if not practitioner else None
    state.when = turn.when
    return booking.search(state)


def confirm_reschedule(state: DialogState, turn: Turn) -> Step | None:
    if turn.yes and not turn.corrects:
        return state.call("reschedule_appointment", slot_number=state.slot or 1,
                          appointment_number=state.appointment or 1)
    return booking.choose(state, turn) or (state.ask("ask_when", "ask_when_other") if turn.no else None)
