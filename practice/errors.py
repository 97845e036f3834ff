"""Typed domain errors of the calendar and directory, each with a stable `code` and no patient data."""

from __future__ import annotations

from collections.abc import Sequence


class CalendarError(Exception):
    """Base of every calendar error; `code` is stable for tools, routes and tests."""

    code = "calendar_error"
    default_message = "The calendar could not handle the request."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self)


class CalendarBusy(CalendarError):
    """The agenda stayed locked by other bookings for too long; the request can be retried."""

    code = "calendar_busy"
    default_message = "The agenda is busy; try again in a moment."


class InvalidRequest(CalendarError):
    code = "invalid_request"
    default_message = "The request is incomplete or inconsistent."


class UnknownPractice(CalendarError):
    code = "unknown_practice"
    default_message = "No such practice."


class UnknownPractitioner(CalendarError):
    code = "unknown_practitioner"
    default_message = "No practitioner of this practice matches."


class AmbiguousPractitioner(CalendarError):
    """Several practitioners match equally well: ask the caller which one (ids in `candidates`)."""

    code = "ambiguous_practitioner"
    default_message = "Several practitioners match; ask which one."

    def __init__(self, candidates: Sequence[int], message: str | None = None) -> None:
        super().__init__(message)
        self.candidates = list(candidates)


class UnknownProfession(CalendarError):
    code = "unknown_profession"
    default_message = "No practitioner of this practice has this profession or specialty."


class UnknownConsultationType(CalendarError):
    code = "unknown_consultation_type"
    default_message = "The practitioner offers no such consultation type."


class UnknownPatient(CalendarError):
    code = "unknown_patient"
    default_message = "No such patient."


class UnknownAppointment(CalendarError):
    code = "unknown_appointment"
    default_message = "No such appointment in this practice."


class AppointmentNotActive(CalendarError):
    code = "appointment_not_active"
    default_message = "The appointment is cancelled or no longer active."


class SlotUnavailable(CalendarError):
    """The slot cannot be booked: not on the practitioner's grid, or during an absence."""

    code = "slot_unavailable"
    default_message = "The practitioner does not see patients at this time."


class SlotTaken(SlotUnavailable):
    code = "slot_taken"
    default_message = "This slot is already taken."


class SlotInPast(SlotUnavailable):
    code = "slot_in_past"
    default_message = "This slot is in the past."


class OutsideOpeningHours(SlotUnavailable):
    code = "outside_opening_hours"
    default_message = "The practice is closed at this time."
