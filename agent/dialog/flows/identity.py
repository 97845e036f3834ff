"""Reading who the caller is (name, date of birth) into the dialog state, for the flows that ask for it."""

from __future__ import annotations

from agent.dialog.flows.state import DialogState
from agent.dialog.flows.turn import Turn


def read_name_and_birth_date(state: DialogState, turn: Turn) -> bool:
    """Keep the name and/or date of birth the turn gives (what it omits stays); False when it gives neither."""
    person = turn.reader.name(turn.text, expected=True)
    born = turn.reader.birth_date(turn.text, turn.now, state.lang)
    if person is None and born is None:
        return False
    if person is not None:
        state.first_name, state.last_name = person.first or state.first_name, person.last or state.last_name
    state.birth_date = born or state.birth_date
    return True


def read_birth_date(state: DialogState, turn: Turn) -> bool:
    """Keep the date of birth the turn gives; False when it gives none."""
    born = turn.reader.birth_date(turn.text, turn.now, state.lang)
    if born is None:
        return False
    state.birth_date = born
    return True
