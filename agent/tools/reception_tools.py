"""The reception agent's function tools: each does the thing (calendar, queue), then says what to say next."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date
from typing import Literal, TypeVar

from livekit.agents.llm import ToolError, function_tool

from agent.tools import actions
from agent.tools.context import CallContext
from agent.tools.slots import constraints, search

log = logging.getLogger(__name__)
T = TypeVar("T")
Topic = Literal["hours", "address", "access", "what_to_bring", "phone", "services", "after_hours"]
Subject = Literal["prescription", "results", "certificate", "other"]
Level = Literal["routine", "urgent", "emergency"]


async def _off_loop(work: Callable[[], T]) -> T:
    """Calendar and queue calls block (SQL, Redis): run them in a worker thread."""
    return await asyncio.to_thread(work)


class ReceptionTools:
    """The tools of one call (`livekit.agents.llm.find_function_tools(ReceptionTools(ctx))` lists them)."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx

    @function_tool
    async def find_slots(
        self,
        practitioner: str | None = None,
        specialty: str | None = None,
        day: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        part_of_day: Literal["morning", "afternoon", "evening"] | None = None,
        not_before: str | None = None,
        not_after: str | None = None,
        weekdays: list[int] | None = None,
        excluded_weekdays: list[int] | None = None,
        excluded_dates: list[str] | None = None,
    ) -> str:
        """Find up to three free appointment slots and return the sentence offering them (numbered 1 to 3).

        Args:
            practitioner: the practitioner's name as the caller said it ("docteur Martin"); omit for anyone.
            specialty: a profession or specialty ("médecin généraliste", "pédiatre", "kiné", "sage-femme").
            day: one exact day, YYYY-MM-DD.
            date_from: first acceptable day, YYYY-MM-DD.
            date_to: last acceptable day, YYYY-MM-DD.
            part_of_day: morning, afternoon or evening.
            not_before: earliest start time, HH:MM.
            not_after: latest start time, HH:MM.
            weekdays: acceptable weekdays, 0 = Monday.
            excluded_weekdays: weekdays the caller cannot come, 0 = Monday.
            excluded_dates: days the caller cannot come, YYYY-MM-DD.
        """
        wanted = constraints(day=day, date_from=date_from, date_to=date_to, part_of_day=part_of_day,
                             not_before=not_before, not_after=not_after, weekdays=weekdays or (),
                             excluded_weekdays=excluded_weekdays or (), excluded_dates=excluded_dates or ())
        return await _off_loop(lambda: search(self.ctx, practitioner, specialty, wanted))

    @function_tool
    async def book_appointment(
        self, slot_number: int, last_name: str, first_name: str, birth_date: str, reason: str = ""
    ) -> str:
        """Book one of the slots just offered, for the caller, after reading it back and hearing yes.

        Args:
            slot_number: the number of the offered slot (1 for the first).
            last_name: the patient's family name.
            first_name: the patient's first name.
            birth_date: the patient's date of birth, YYYY-MM-DD.
            reason: the reason for the visit if the caller gave one (no medical advice).
        """
        born = _birth_date(birth_date)
        return await _off_loop(lambda: actions.book(self.ctx, slot_number, last_name, first_name, born, reason))

    @function_tool
    async def find_appointments(self, last_name: str | None = None, birth_date: str | None = None) -> str:
        """Find the caller's upcoming appointments from their phone number and their family name or birth date.

        Args:
            last_name: the family name the appointment is under.
            birth_date: the patient's date of birth, YYYY-MM-DD.
        """
        born = _birth_date(birth_date) if birth_date else None
        return await _off_loop(lambda: actions.find_appointments(self.ctx, last_name, born))

    @function_tool
    async def cancel_appointment(self, appointment_number: int = 1) -> str:
        """Cancel one of the appointments just found, after the caller said yes.

        Args:
            appointment_number: its number in the list just read (1 for the first).
        """
        return await _off_loop(lambda: actions.cancel(self.ctx, appointment_number))

    @function_tool
    async def confirm_appointment(self, appointment_number: int = 1) -> str:
        """Confirm (mark as confirmed) one of the appointments just found.

        Args:
            appointment_number: its number in the list just read (1 for the first).
        """
        return await _off_loop(lambda: actions.confirm(self.ctx, appointment_number))

    @function_tool
    async def reschedule_appointment(self, slot_number: int, appointment_number: int = 1) -> str:
        """Move one of the appointments just found to one of the slots just offered, after the caller said yes.

        Args:
            slot_number: the number of the offered slot (1 for the first).
            appointment_number: the number of the appointment in the list just read (1 for the first).
        """
        return await _off_loop(lambda: actions.reschedule(self.ctx, appointment_number, slot_number))

    @function_tool
    async def practice_info(self, topic: Topic) -> str:
        """Answer a question about the practice from its own data (never medical advice).

        Args:
            topic: hours, address, access (transport, parking, wheelchair), what_to_bring, phone, services
                (who works here), after_hours (what to do when the practice is closed).
        """
        return actions.practice_info(self.ctx, topic)

    @function_tool
    async def leave_message(
        self,
        subject: Subject,
        message: str,
        last_name: str,
        first_name: str = "",
        birth_date: str | None = None,
        practitioner: str | None = None,
    ) -> str:
        """Pass a message to a practitioner or the front desk (prescription renewal, results, certificate...).

        Args:
            subject: prescription, results, certificate or other.
            message: what the caller asks, in their words.
            last_name: the patient's family name.
            first_name: the patient's first name.
            birth_date: the patient's date of birth, YYYY-MM-DD.
            practitioner: the practitioner the message is for, as the caller said it.
        """
        born = _birth_date(birth_date) if birth_date else None
        note = actions.MessageNote(subject, message, last_name, first_name, born, practitioner)
        return await _off_loop(lambda: actions.leave_message(self.ctx, note))

    @function_tool
    async def request_human(self, reason: str, level: Level = "routine") -> str:
        """Hand the call to a person of the front desk (or a callback when closed) and return the holding line.

        Args:
            reason: why, in a few words (French), for the secretary's summary.
            level: routine, urgent or emergency.
        """
        return await _off_loop(lambda: actions.request_human(self.ctx, reason, level))


def _birth_date(value: str | None) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError as exc:
        raise ToolError("birth_date must be YYYY-MM-DD") from exc
