"""The domain model (SQLModel tables), shared by the agent, the queue and the console.

Event timestamps (created_at, started_at...) are timezone-aware UTC (`utc_now()`); the practice's
calendar (opening hours, availability, appointments) is naive local wall-clock time of the practice
(`NaiveDatetime`), as a secretary reads it in the agenda.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import NaiveDatetime
from sqlmodel import JSON, Column, Field, SQLModel


def utc_now() -> datetime:
    """The current instant, timezone-aware UTC: the convention of every event timestamp."""
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class AppointmentStatus(StrEnum):
    booked = "booked"
    confirmed = "confirmed"
    cancelled = "cancelled"
    no_show = "no_show"


class BookedBy(StrEnum):
    agent = "agent"
    human = "human"


class Role(StrEnum):
    secretary = "secretary"
    manager = "manager"
    admin = "admin"


class ExceptionKind(StrEnum):
    absence = "absence"
    extra = "extra"


class TicketStatus(StrEnum):
    queued = "queued"
    offered = "offered"
    claimed = "claimed"
    connected = "connected"
    callback = "callback"
    closed = "closed"
    abandoned = "abandoned"


class ConfigStatus(StrEnum):
    draft = "draft"
    active = "active"
    archived = "archived"


def _enum(length: int = 20) -> Any:
    return sa.String(length)


# --- practice -------------------------------------------------------------------------------------


class PracticeBase(SQLModel):
    name: str = Field(max_length=200)
    slug: str = Field(max_length=80, unique=True, index=True)
    address: str = Field(default="", max_length=300)
    postcode: str = Field(default="", max_length=10)
    city: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=20)
    email: str = Field(default="", max_length=200)
    access_info: str = Field(default="", max_length=1000)
    what_to_bring: str = Field(default="", max_length=1000)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    holiday_country: str = Field(default="FR", max_length=2)
    holiday_subdivision: str | None = Field(default=None, max_length=10)
    recording_enabled: bool = False
    after_hours_policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Practice(PracticeBase, table=True):
    """A group practice (maison de santé, cabinet de groupe)."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utc_now)


class PracticeCreate(PracticeBase):
    pass


class PracticePublic(PracticeBase):
    id: int


class OpeningHours(SQLModel, table=True):
    """One opening window of a weekday (0 = Monday); two rows make a lunch break."""

    __tablename__ = "opening_hours"
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    weekday: int = Field(ge=0, le=6)
    opens: time
    closes: time


class PracticeClosure(SQLModel, table=True):
    """A day the whole practice is closed beyond public holidays (bridge day, works...)."""

    __tablename__ = "practice_closure"
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    day: date
    reason: str = Field(default="", max_length=200)


# --- practitioners --------------------------------------------------------------------------------


class PractitionerBase(SQLModel):
    title: str = Field(default="Dr", max_length=20)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    profession: str = Field(max_length=80)
    specialty: str = Field(default="", max_length=80)
    languages: list[str] = Field(default_factory=lambda: ["fr"], sa_column=Column(JSON, nullable=False))
    active: bool = True


class Practitioner(PractitionerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)


class PractitionerCreate(PractitionerBase):
    practice_id: int


class PractitionerPublic(PractitionerBase):
    id: int
    practice_id: int


class ConsultationType(SQLModel, table=True):
    """A kind of visit a practitioner offers, with its duration."""

    __tablename__ = "consultation_type"
    id: int | None = Field(default=None, primary_key=True)
    practitioner_id: int = Field(foreign_key="practitioner.id", index=True)
    name: str = Field(max_length=100)
    duration_minutes: int = Field(ge=5, le=240)
    is_default: bool = False


class AvailabilityRule(SQLModel, table=True):
    """A weekly window in which a practitioner sees patients (local wall-clock time)."""

    __tablename__ = "availability_rule"
    id: int | None = Field(default=None, primary_key=True)
    practitioner_id: int = Field(foreign_key="practitioner.id", index=True)
    weekday: int = Field(ge=0, le=6)
    starts: time
    ends: time
    slot_minutes: int = Field(default=20, ge=5, le=240)


class AvailabilityException(SQLModel, table=True):
    """An absence (holidays, training) or an extra opening of one practitioner (local time)."""

    __tablename__ = "availability_exception"
    id: int | None = Field(default=None, primary_key=True)
    practitioner_id: int = Field(foreign_key="practitioner.id", index=True)
    kind: str = Field(default=ExceptionKind.absence, sa_type=_enum())
    starts_at: NaiveDatetime
    ends_at: NaiveDatetime
    reason: str = Field(default="", max_length=200)


# --- patients and appointments --------------------------------------------------------------------


class PatientBase(SQLModel):
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(max_length=100)
    birth_date: date | None = None
    phone: str = Field(default="", max_length=20, index=True)


class Patient(PatientBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utc_now)


class PatientCreate(PatientBase):
    pass


class PatientPublic(PatientBase):
    id: int


class AppointmentBase(SQLModel):
    practitioner_id: int = Field(foreign_key="practitioner.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    consultation_type_id: int | None = Field(default=None, foreign_key="consultation_type.id")
    starts_at: NaiveDatetime = Field(index=True)
    ends_at: NaiveDatetime
    reason: str = Field(default="", max_length=300)


class Appointment(AppointmentBase, table=True):
    """A booked visit; `starts_at`/`ends_at` are local wall-clock times of the practice."""

    __table_args__ = (
        sa.Index(
            "uq_appointment_active_slot",
            "practitioner_id",
            "starts_at",
            unique=True,
            sqlite_where=sa.text("status != 'cancelled'"),
            postgresql_where=sa.text("status != 'cancelled'"),
        ),
        # reports: bookings of a period per practice, read from the index alone (migration 0004)
        sa.Index("ix_appointment_practice_created", "practice_id", "created_at", "practitioner_id", "booked_by",
                 "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    status: str = Field(default=AppointmentStatus.booked, sa_type=_enum())
    booked_by: str = Field(default=BookedBy.agent, sa_type=_enum())
    call_id: str | None = Field(default=None, max_length=32, index=True)
    rescheduled_from_id: int | None = Field(default=None, foreign_key="appointment.id", index=True)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)


class AppointmentPublic(AppointmentBase):
    id: int
    practice_id: int
    status: str
    booked_by: str


# --- calls ----------------------------------------------------------------------------------------


class Call(SQLModel, table=True):
    """One phone call, from ring to hang-up; its id is also its ticket's id."""

    # reports: a period's calls per practice with their outcome, read from the index alone (migration 0004)
    __table_args__ = (sa.Index("ix_call_practice_started", "practice_id", "started_at", "escalated", "outcome"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    practice_id: int | None = Field(default=None, foreign_key="practice.id", index=True)
    caller_number: str = Field(default="", max_length=20)
    patient_id: int | None = Field(default=None, foreign_key="patient.id")
    transport: str = Field(default="media-stream", max_length=20)
    language: str = Field(default="fr", max_length=5)
    started_at: datetime = Field(default_factory=utc_now, index=True)
    ended_at: datetime | None = None
    outcome: str = Field(default="", max_length=20, index=True)
    escalated: bool = False
    triage_level: str = Field(default="routine", sa_type=_enum())


class Turn(SQLModel, table=True):
    """One utterance in a call (caller, agent or secretary) with what the pipeline measured."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="call.id", index=True, max_length=32)
    seq: int
    speaker: str = Field(sa_type=_enum())
    text: str = Field(default="", sa_type=sa.Text)
    at: datetime = Field(default_factory=utc_now)
    stt_confidence: float | None = None
    voice_to_voice_ms: int | None = None
    triage: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Ticket(SQLModel, table=True):
    """A hand-off to the humans (escalation, callback or message); id = the call's id."""

    id: str = Field(primary_key=True, max_length=32)
    practice_id: int | None = Field(default=None, foreign_key="practice.id", index=True)
    kind: str = Field(default="handoff", max_length=20)
    level: str = Field(default="routine", sa_type=_enum())
    reason: str = Field(default="", max_length=300)
    status: str = Field(default=TicketStatus.queued, sa_type=_enum(), index=True)
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    caller_number: str = Field(default="", max_length=20)
    practitioner_id: int | None = Field(default=None, foreign_key="practitioner.id")
    preferred_user_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sla_breached: bool = False
    claimed_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utc_now, index=True)
    claimed_at: datetime | None = None
    closed_at: datetime | None = None
    callback_due: datetime | None = None
    disposition: str = Field(default="", max_length=40)


class TicketEvent(SQLModel, table=True):
    """One lifecycle change of a ticket, written beside the queue so it can be rebuilt."""

    __tablename__ = "ticket_event"
    # reports: a ticket's first queued / claimed instant, read from the index alone (migration 0004)
    __table_args__ = (sa.Index("ix_ticket_event_ticket_status_at", "ticket_id", "status", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(foreign_key="ticket.id", index=True, max_length=32)
    status: str = Field(sa_type=_enum())
    at: datetime = Field(default_factory=utc_now)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CallReview(SQLModel, table=True):
    """The level a manager retains for a call after reading it (one per call: a new review replaces it)."""

    __tablename__ = "call_review"
    call_id: str = Field(foreign_key="call.id", primary_key=True, max_length=32)
    level: str = Field(sa_type=_enum())
    reviewed_by: int | None = Field(default=None, foreign_key="user.id")
    reviewer: str = Field(default="", max_length=200)
    reviewed_at: datetime = Field(default_factory=utc_now)


# --- people using the console ---------------------------------------------------------------------


class UserBase(SQLModel):
    username: str = Field(max_length=80, unique=True, index=True)
    full_name: str = Field(default="", max_length=200)
    role: str = Field(default=Role.secretary, sa_type=_enum())
    languages: list[str] = Field(default_factory=lambda: ["fr"], sa_column=Column(JSON, nullable=False))
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=300)
    created_at: datetime = Field(default_factory=utc_now)


class UserPublic(UserBase):
    id: int


class UserPractice(SQLModel, table=True):
    """Which practices a secretary serves (tenancy)."""

    __tablename__ = "user_practice"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", primary_key=True)


# --- manager configuration and audit --------------------------------------------------------------


class ThresholdConfig(SQLModel, table=True):
    """One version of a practice's escalation thresholds (draft → active → archived)."""

    __tablename__ = "threshold_config"
    __table_args__ = (
        # COALESCE: the group default (practice_id NULL) gets unique versions and one active row too.
        sa.Index("uq_threshold_version", sa.text("coalesce(practice_id, 0)"), "version", unique=True),
        sa.Index(
            "uq_threshold_one_active",
            sa.text("coalesce(practice_id, 0)"),
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    practice_id: int | None = Field(default=None, foreign_key="practice.id", index=True)
    version: int
    status: str = Field(default=ConfigStatus.draft, sa_type=_enum())
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=500)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utc_now)
    activated_at: datetime | None = None


class AuditLog(SQLModel, table=True):
    """Who did or viewed what, when (GDPR and configuration audit)."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now, index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="user.id")
    actor: str = Field(default="", max_length=80)
    practice_id: int | None = Field(default=None, foreign_key="practice.id", index=True)
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: str = Field(default="", max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RetentionPolicy(SQLModel, table=True):
    """How many days each kind of call data is kept for one practice (GDPR; purged by practice.retention)."""

    __tablename__ = "retention_policy"
    practice_id: int = Field(foreign_key="practice.id", primary_key=True)
    audio_days: int = 30
    transcript_days: int = 90
    summary_days: int = 365
    metadata_days: int = 1095
    updated_at: datetime = Field(default_factory=utc_now)
