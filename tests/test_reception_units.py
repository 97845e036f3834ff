"""Units of the reception agent: tool schemas (for a real LLM), opening hours and holidays, speech, NLU helpers."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from livekit.agents import llm
from livekit.agents.llm.utils import build_legacy_openai_schema, build_strict_openai_schema

from agent.dialog.flows.nlu import when_arguments
from agent.dialog.flows.state import ToolCall, looks_english
from agent.dialog.when import PartOfDay, WhenConstraint
from agent.tools.context import CallContext, MemoryTickets
from agent.tools.practice_profile import PracticeProfile, after_hours_text, hours_text
from agent.tools.reception_tools import ReceptionTools
from agent.tools.speech import say, spoken_list, spoken_moment
from escalation.thresholds import Thresholds

pytestmark = pytest.mark.unit

PARIS = ZoneInfo("Europe/Paris")
TOOLS = ["book_appointment", "cancel_appointment", "confirm_appointment", "find_appointments", "find_slots",
         "leave_message", "practice_info", "request_human", "reschedule_appointment"]


def profile(**extra: object) -> PracticeProfile:
    week = ((time(8, 0), time(12, 30)), (time(14, 0), time(19, 0)))
    opening = {d: week for d in range(5)} | {5: ((time(8, 30), time(12, 0)),)}
    fields: dict[str, object] = {"id": 1, "name": "Maison de santé des Tilleuls", "opening": opening,
                                 "after_hours": {"sos_medecins": "3624", "maison_medicale_de_garde": "MMG Lyon 3e"}}
    return PracticeProfile(**(fields | extra))  # type: ignore[arg-type]


def tools() -> list[llm.FunctionTool[..., Any]]:
    ctx = CallContext(call_id="c", practice=profile(), calendar=None, tickets=MemoryTickets())  # type: ignore[arg-type]
    found = llm.find_function_tools(ReceptionTools(ctx))
    return [t for t in found if isinstance(t, llm.FunctionTool)]


def test_the_tools_a_real_llm_gets() -> None:
    found = tools()
    assert sorted(t.info.name for t in found) == TOOLS
    for tool in found:
        assert tool.info.description, tool.info.name
        legacy = build_legacy_openai_schema(tool)
        strict = build_strict_openai_schema(tool)
        assert legacy["function"]["parameters"]["type"] == "object" and strict["function"]["strict"]
    find = next(t for t in found if t.info.name == "find_slots")
    props = build_legacy_openai_schema(find)["function"]["parameters"]["properties"]
    assert {"practitioner", "specialty", "day", "part_of_day", "excluded_weekdays"} <= set(props)


def test_instructions_exist_in_both_languages_and_name_every_tool() -> None:
    import prompts

    for lang in ("fr", "en"):
        text = prompts.text("instructions", lang)
        assert all(name in text for name in TOOLS), lang


@pytest.mark.parametrize("moment, is_open, reopens", [
    (datetime(2026, 11, 24, 10, 0, tzinfo=PARIS), True, None),
    (datetime(2026, 11, 24, 12, 45, tzinfo=PARIS), False, datetime(2026, 11, 24, 14, 0)),
    (datetime(2026, 11, 24, 21, 0, tzinfo=PARIS), False, datetime(2026, 11, 25, 8, 0)),
    (datetime(2026, 11, 28, 13, 0, tzinfo=PARIS), False, datetime(2026, 11, 30, 8, 0)),
    (datetime(2026, 12, 25, 10, 0, tzinfo=PARIS), False, datetime(2026, 12, 26, 8, 30)),
    (datetime(2027, 5, 1, 10, 0, tzinfo=PARIS), False, datetime(2027, 5, 3, 8, 0)),
])
def test_opening_status(moment: datetime, is_open: bool, reopens: datetime | None) -> None:
    status = profile().status(moment)
    assert status.open is is_open and status.reopens == reopens


def test_holiday_and_closure_days() -> None:
    p = profile(closures=frozenset({date(2026, 11, 27)}))
    assert p.holiday_name(date(2026, 12, 25)) == "Noël"
    assert p.status(datetime(2026, 11, 27, 10, 0, tzinfo=PARIS)).open is False
    alsace = profile(holiday_subdivision="57")
    assert alsace.holiday_name(date(2026, 12, 26)) is not None and profile().holiday_name(date(2026, 12, 26)) is None


def test_after_hours_orientation() -> None:
    p = profile()
    status = p.status(datetime(2026, 12, 25, 10, 0, tzinfo=PARIS))
    fr, en = after_hours_text(p, status, "fr"), after_hours_text(p, status, "en")
    assert "jour férié : Noël" in fr and "samedi 26 décembre à 8 h 30" in fr
    assert "15" in fr and "116 117" in fr and "SOS Médecins au 3624" in fr and "MMG Lyon 3e" in fr
    assert "public holiday" in en and "Saturday 26 December at 8:30" in en


def test_hours_sentence() -> None:
    assert hours_text(profile(), "fr") == ("du lundi au vendredi de 8 h à 12 h 30 et de 14 h à 19 h; "
                                           "le samedi de 8 h 30 à 12 h")
    assert hours_text(profile(), "en").startswith("Monday to Friday from 8:00 to 12:30 and from 14:00 to 19:00")


def test_spoken_dates_and_lists() -> None:
    moment = datetime(2026, 11, 24, 9, 40)
    assert spoken_moment(moment, "fr") == "mardi 24 novembre à 9 h 40"
    assert spoken_moment(moment.replace(minute=0), "en") == "Tuesday 24 November at 9:00"
    assert spoken_list(["a", "b", "c"], "fr") == "a, b ou c" and spoken_list(["a", "b"], "en") == "a or b"
    assert say("booked", "fr", when="X", practitioner="Y").startswith("C'est noté : votre rendez-vous est réservé X")


def test_every_sentence_exists_in_both_languages() -> None:
    from pathlib import Path

    import prompts

    fr = {p.stem for p in (Path(prompts.__file__).parent / "fr").glob("*.md")}
    en = {p.stem for p in (Path(prompts.__file__).parent / "en").glob("*.md")}
    assert fr == en


@pytest.mark.parametrize("text, english", [
    ("Hello, I would like to book an appointment", True), ("what are your opening hours?", True),
    ("Bonjour, je voudrais un rendez-vous", False), ("oui", False), ("le premier", False), ("OK", False),
])
def test_language_guess(text: str, english: bool) -> None:
    assert looks_english(text) is english


def test_when_as_tool_arguments() -> None:
    when = WhenConstraint(day=date(2026, 11, 26), part_of_day=PartOfDay.AFTERNOON,
                          excluded_weekdays=frozenset({1}), excluded_days=frozenset({date(2026, 12, 1)}))
    assert when_arguments(when) == {"day": "2026-11-26", "part_of_day": "afternoon", "excluded_weekdays": [1],
                                    "excluded_dates": ["2026-12-01"]}
    assert when_arguments(WhenConstraint(at=time(10, 0), approximate=True)) == {"not_before": "09:00",
                                                                               "not_after": "11:00"}


def test_tool_call_arguments_drop_empty_values() -> None:
    call = ToolCall("find_slots", {"practitioner": "Dr Claire Martin", "specialty": None, "weekdays": []})
    assert call.json() == '{"practitioner": "Dr Claire Martin"}'


def test_a_message_ticket_reads_as_a_hand_off_summary() -> None:
    """The ticket the tools write is what the secretary's summary is built from (escalation.summary)."""
    from agent.tools import actions
    from escalation.summary import build_summary
    from practice.models import Ticket

    tickets = MemoryTickets()
    ctx = CallContext(call_id="call1", practice=profile(), calendar=None, tickets=tickets,  # type: ignore[arg-type]
                      caller_number="+33699887766")
    ctx.actions.append({"kind": "slots_offered", "slots": ["2026-11-24T10:10:00"], "practitioner": "Dr Claire Martin"})
    note = actions.MessageNote("prescription", "Renouvellement de mon ordonnance", "Dupuis", "Jeanne",
                               date(1948, 3, 12))
    assert "équipe médicale" in actions.leave_message(ctx, note)
    spec = tickets.specs["call1"]
    ticket = Ticket(id=spec.id, practice_id=None, kind=spec.kind, level=spec.level, reason=spec.reason,
                    summary=spec.summary, caller_number=spec.caller_number)
    summary = build_summary(ticket=ticket)
    assert summary.caller.name == "Jeanne Dupuis" and summary.caller.birth_date == date(1948, 3, 12)
    assert [a.kind for a in summary.actions] == ["slots_offered", "message_taken"]
    assert "Renouvellement" in summary.to_text() and ctx.outcome == "message"


def test_each_call_uses_its_practices_active_thresholds(tmp_path):
    """The composition root hands the manager's active thresholds to each call's monitor."""
    from agent.reception_agent import ReceptionServices
    from agent.tools.context import MemoryTickets
    from practice.db import make_engine, migrate
    from tests.reception_harness import seed, triage

    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    migrate(engine)
    demo = seed(engine)
    seen: list[int] = []

    def thresholds_for(practice_id: int) -> Thresholds:
        seen.append(practice_id)
        return Thresholds(max_misunderstandings=1)

    services = ReceptionServices(db=engine, tickets=MemoryTickets(), thresholds_for=thresholds_for)
    reception = services.open(call_id="c1", practice_id=demo.practice_id, caller_number="0612345678", lang="fr",
                              triage=triage())
    assert seen == [demo.practice_id]
    assert reception.engine.conversation.monitor.thresholds.max_misunderstandings == 1
