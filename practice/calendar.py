"""The calendar service: a `Calendar` Protocol and its SQL implementation (SQLite or PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from practice import calendar_store as store
from practice import slot_search
from practice.calendar_types import AppointmentInfo, PatientInfo, Slot, SlotConstraints
from practice.directory import AMBIGUITY_MARGIN, PractitionerRecord, Resolution, find_by_profession, resolve
from practice.errors import (
    AmbiguousPractitioner,
    AppointmentNotActive,
    CalendarBusy,
    InvalidRequest,
    OutsideOpeningHours,
    SlotInPast,
    SlotTaken,
    SlotUnavailable,
    UnknownAppointment,
    UnknownConsultationType,
    UnknownPatient,
    UnknownPractitioner,
    UnknownProfession,
)
from practice.models import Appointment, AppointmentStatus, BookedBy, Patient, utc_now
from practice.patients import find_or_create, matching_patient_ids
from practice.slots import (
    PracticePlan,
    PractitionerPlan,
    clip_all,
    grid_starts,
    overlaps,
)

log = logging.getLogger(__name__)

MAX_LIMIT = 50


class Calendar(Protocol):
    """What the agent's tools and the console need of an agenda (SQL here; Doctolib/FHIR later)."""

    def practitioners(self, practice_id: int) -> list[PractitionerRecord]: ...

    def resolve_practitioner(self, practice_id: int, text: str) -> Resolution: ...

    def find_slots(
        self,
        practice_id: int,
        *,
        practitioner: str | int | None = None,
        profession: str | None = None,
        constraints: SlotConstraints | None = None,
        limit: int = 3,
        now: datetime | None = None,
    ) -> list[Slot]: ...

    def book(
        self,
        practice_id: int,
        *,
        practitioner_id: int,
        patient_id: int,
        starts_at: datetime,
        consultation_type_id: int | None = None,
        duration_minutes: int | None = None,
        reason: str = "",
        booked_by: str = BookedBy.agent,
        call_id: str | None = None,
        now: datetime | None = None,
    ) -> AppointmentInfo: ...

    def cancel(self, practice_id: int, *, appointment_id: int, now: datetime | None = None) -> AppointmentInfo: ...

    def reschedule(
        self,
        practice_id: int,
        *,
        appointment_id: int,
        starts_at: datetime,
        practitioner_id: int | None = None,
        booked_by: str = BookedBy.agent,
        call_id: str | None = None,
        now: datetime | None = None,
    ) -> AppointmentInfo: ...

    def confirm(self, practice_id: int, *, appointment_id: int) -> AppointmentInfo: ...

    def find_patient_appointments(
        self,
        practice_id: int,
        *,
        phone: str,
        last_name: str | None = None,
        birth_date: date | None = None,
        now: datetime | None = None,
    ) -> list[AppointmentInfo]: ...

    def find_or_create_patient(
        self,
        practice_id: int,
        *,
        last_name: str,
        first_name: str = "",
        birth_date: date | None = None,
        phone: str = "",
    ) -> PatientInfo: ...


def _info(appointment: Appointment, name: str, *, existing: bool = False) -> AppointmentInfo:
    assert appointment.id is not None
    return AppointmentInfo(
        id=appointment.id,
        practice_id=appointment.practice_id,
        practitioner_id=appointment.practitioner_id,
        practitioner_name=name,
        patient_id=appointment.patient_id,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        status=str(appointment.status),
        consultation_type_id=appointment.consultation_type_id,
        reason=appointment.reason,
        booked_by=str(appointment.booked_by),
        rescheduled_from_id=appointment.rescheduled_from_id,
        existing=existing,
    )


def _is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text


def _is_contention(exc: OperationalError) -> bool:
    """SQLite's write lock not obtained in time, or a PostgreSQL deadlock or lock timeout."""
    text = str(exc.orig).lower()
    return any(word in text for word in ("database is locked", "deadlock", "lock timeout", "could not obtain lock"))


class SqlCalendar:
    """The built-in agenda on the Permanence database; every write is one locked transaction."""

    def __init__(self, engine: Engine, tz: str = "Europe/Paris") -> None:
        self.engine = engine
        self.tz = ZoneInfo(tz)
        self._sqlite = engine.dialect.name == "sqlite"

    # --- sessions, time and locks ------------------------------------------------------------------

    def _zone(self, practice: store.PracticeRow) -> ZoneInfo:
        """The practice's own time zone (its `timezone` column), else the calendar's default."""
        try:
            return ZoneInfo(practice.timezone) if practice.timezone else self.tz
        except (ZoneInfoNotFoundError, ValueError):
            return self.tz

    def _clock(self, conn: sa.Connection, practice_id: int) -> ZoneInfo:
        return self._zone(store.load_practice(conn, practice_id))

    @staticmethod
    def _local(moment: datetime, zone: ZoneInfo) -> datetime:
        """A naive local wall-clock datetime (aware datetimes are converted to the practice's zone)."""
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(zone).replace(tzinfo=None)

    def _now(self, now: datetime | None, zone: ZoneInfo) -> datetime:
        return self._local(now or datetime.now(zone), zone)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _write(self, practice_id: int, practitioner_ids: Sequence[int]) -> Iterator[Session]:
        """A transaction holding the booking lock of the practitioners (write lock on SQLite)."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                self._lock(session, practice_id, practitioner_ids)
                yield session
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                if _is_unique_violation(exc):
                    raise SlotTaken() from None
                raise
            except OperationalError as exc:
                session.rollback()
                if _is_contention(exc):
                    raise CalendarBusy() from None
                raise
            except BaseException:
                session.rollback()
                raise

    def _lock(self, session: Session, practice_id: int, practitioner_ids: Sequence[int]) -> None:
        connection = session.connection()
        if self._sqlite:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        c = store.PRACTITIONER.c
        query = sa.select(c.id).where(c.id.in_(sorted(set(practitioner_ids))), c.practice_id == practice_id)
        if not self._sqlite:
            query = query.order_by(c.id).with_for_update()
        if len(session.scalars(query).all()) != len(set(practitioner_ids)):
            raise UnknownPractitioner()

    # --- directory ---------------------------------------------------------------------------------

    def practitioners(self, practice_id: int) -> list[PractitionerRecord]:
        with self._read() as session:
            store.load_practice(session.connection(), practice_id)
            return store.load_records(session.connection(), practice_id)

    def resolve_practitioner(self, practice_id: int, text: str) -> Resolution:
        return resolve(text, [r for r in self.practitioners(practice_id) if r.active])

    def _candidates(
        self, records: list[PractitionerRecord], practitioner: str | int | None, profession: str | None
    ) -> list[PractitionerRecord]:
        active = [r for r in records if r.active]
        if isinstance(practitioner, int):
            chosen = [r for r in active if r.id == practitioner]
            if not chosen:
                raise UnknownPractitioner()
            return chosen
        if practitioner:
            return self._by_name(f"{practitioner} {profession or ''}", active)
        if profession:
            matches = find_by_profession(profession, active)
            if not matches:
                raise UnknownProfession()
            return [m.record for m in matches]
        return active

    @staticmethod
    def _by_name(text: str, active: list[PractitionerRecord]) -> list[PractitionerRecord]:
        resolution = resolve(text, active)
        if resolution.kind == "none":
            raise UnknownPractitioner()
        if resolution.ambiguous:
            top = resolution.matches[0].score
            close = [m.record.id for m in resolution.matches if m.score > top - AMBIGUITY_MARGIN]
            raise AmbiguousPractitioner(close)
        if resolution.kind == "name":
            return [resolution.matches[0].record]
        return [m.record for m in resolution.matches]

    # --- slot search -------------------------------------------------------------------------------

    def find_slots(
        self,
        practice_id: int,
        *,
        practitioner: str | int | None = None,
        profession: str | None = None,
        constraints: SlotConstraints | None = None,
        limit: int = 3,
        now: datetime | None = None,
    ) -> list[Slot]:
        """Free slots of one practitioner, of a profession, or of the whole group, spread over half-days."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest("Ask for between 1 and 50 slots.")
        wanted = constraints or SlotConstraints()
        with self.engine.connect() as conn:
            practice = store.load_practice(conn, practice_id)
            local_now = self._now(now, self._zone(practice))
            first, last = wanted.first_day(local_now.date()), wanted.last_day(local_now.date())
            candidates = self._candidates(store.load_records(conn, practice_id), practitioner, profession)
            if last < first or not candidates:
                return []
            practice_plan = store.load_practice_plan(conn, practice, first, last)
            plans = store.load_plans(conn, candidates, first, last)
            durations = slot_search.durations(plans, wanted, single=len(candidates) == 1)
            return slot_search.search(conn, practice_plan, plans, durations, wanted, local_now, limit)

    # --- booking -----------------------------------------------------------------------------------

    def book(
        self,
        practice_id: int,
        *,
        practitioner_id: int,
        patient_id: int,
        starts_at: datetime,
        consultation_type_id: int | None = None,
        duration_minutes: int | None = None,
        reason: str = "",
        booked_by: str = BookedBy.agent,
        call_id: str | None = None,
        now: datetime | None = None,
    ) -> AppointmentInfo:
        """Book a free slot; booking the same patient into the same slot again returns that appointment."""
        with self._write(practice_id, [practitioner_id]) as session:
            zone = self._clock(session.connection(), practice_id)
            start, local_now = self._local(starts_at, zone), self._now(now, zone)
            if session.get(Patient, patient_id) is None:
                raise UnknownPatient()
            existing = _active_at(session, practitioner_id, start)
            if existing is not None and existing.patient_id == patient_id:
                return _info(existing, self._name(session, practitioner_id), existing=True)
            plan, practice_plan = self._day_plan(session, practice_id, practitioner_id, start.date())
            kind_id, length = self._length(plan, practice_plan, start, consultation_type_id, duration_minutes)
            self._check_bookable(session, practice_plan, plan, start, length, local_now, exclude_id=None)
            appointment = Appointment(
                practice_id=practice_id,
                practitioner_id=practitioner_id,
                patient_id=patient_id,
                consultation_type_id=kind_id,
                starts_at=start,
                ends_at=start + timedelta(minutes=length),
                reason=reason,
                booked_by=booked_by,
                call_id=call_id,
            )
            session.add(appointment)
            session.flush()
            log.info("appointment booked", extra={"appointment_id": appointment.id, "practice_id": practice_id})
            return _info(appointment, plan.record.display_name)

    def _name(self, session: Session, practitioner_id: int) -> str:
        records = store.load_records_by_id(session.connection(), [practitioner_id])
        return records[0].display_name if records else ""

    def _day_plan(
        self, session: Session, practice_id: int, practitioner_id: int, day: date
    ) -> tuple[PractitionerPlan, PracticePlan]:
        practice = store.load_practice(session.connection(), practice_id)
        records = store.load_records_by_id(session.connection(), [practitioner_id])
        if not records or not records[0].active:
            raise UnknownPractitioner()
        plans = store.load_plans(session.connection(), records, day, day)
        return plans[practitioner_id], store.load_practice_plan(session.connection(), practice, day, day)

    @staticmethod
    def _length(
        plan: PractitionerPlan,
        practice_plan: PracticePlan,
        start: datetime,
        consultation_type_id: int | None,
        duration_minutes: int | None,
    ) -> tuple[int | None, int]:
        choice = slot_search.consultation(plan, consultation_type_id, duration_minutes)
        if choice is None:
            raise UnknownConsultationType()
        kind_id, minutes = choice
        if minutes is not None:
            return kind_id, minutes
        grid = dict(grid_starts(practice_plan, plan, start.date(), None))
        return kind_id, grid.get(start.hour * 60 + start.minute, plan.default_step)

    @staticmethod
    def _check_bookable(
        session: Session,
        practice_plan: PracticePlan,
        plan: PractitionerPlan,
        start: datetime,
        length: int,
        local_now: datetime,
        *,
        exclude_id: int | None,
    ) -> None:
        """Raise the precise reason a slot cannot be booked: past, closed, off-grid, absent or taken."""
        if start <= local_now:
            raise SlotInPast()
        if start.second or start.microsecond:
            raise SlotUnavailable()
        day, minute = start.date(), start.hour * 60 + start.minute
        if (minute, length) not in grid_starts(practice_plan, plan, day, length):
            if not practice_plan.is_open(day, minute, minute + length):
                raise OutsideOpeningHours()
            raise SlotUnavailable()
        busy = store.load_busy(session.connection(), {plan.record.id: plan}, day, day, exclude_id=exclude_id)
        windows = busy.get(plan.record.id, day)
        if overlaps(minute, length, windows):
            absences = clip_all(plan.absences, day)
            raise SlotUnavailable() if overlaps(minute, length, absences) else SlotTaken()

    # --- changes to an appointment -----------------------------------------------------------------

    def cancel(self, practice_id: int, *, appointment_id: int, now: datetime | None = None) -> AppointmentInfo:
        """Cancel an upcoming appointment; cancelling a cancelled one changes nothing."""
        pid = self._practitioner_of(practice_id, appointment_id)
        with self._write(practice_id, [pid]) as session:
            local_now = self._now(now, self._clock(session.connection(), practice_id))
            appointment = _appointment(session, practice_id, appointment_id, lock=not self._sqlite)
            name = self._name(session, pid)
            if appointment.status == AppointmentStatus.cancelled:
                return _info(appointment, name, existing=True)
            if appointment.starts_at <= local_now:
                raise InvalidRequest("The appointment has already started or taken place.")
            _set_status(appointment, AppointmentStatus.cancelled)
            session.flush()
            log.info("appointment cancelled", extra={"appointment_id": appointment_id})
            return _info(appointment, name)

    def confirm(self, practice_id: int, *, appointment_id: int) -> AppointmentInfo:
        """Mark a booked appointment confirmed (idempotent); a cancelled one cannot be confirmed."""
        pid = self._practitioner_of(practice_id, appointment_id)
        with self._write(practice_id, [pid]) as session:
            appointment = _appointment(session, practice_id, appointment_id, lock=not self._sqlite)
            name = self._name(session, pid)
            if appointment.status == AppointmentStatus.confirmed:
                return _info(appointment, name, existing=True)
            if appointment.status != AppointmentStatus.booked:
                raise AppointmentNotActive()
            _set_status(appointment, AppointmentStatus.confirmed)
            session.flush()
            return _info(appointment, name)

    def reschedule(
        self,
        practice_id: int,
        *,
        appointment_id: int,
        starts_at: datetime,
        practitioner_id: int | None = None,
        booked_by: str = BookedBy.agent,
        call_id: str | None = None,
        now: datetime | None = None,
    ) -> AppointmentInfo:
        """Atomically cancel an appointment and book its replacement (linked by `rescheduled_from_id`)."""
        old_pid = self._practitioner_of(practice_id, appointment_id)
        new_pid = practitioner_id or old_pid
        with self._write(practice_id, [old_pid, new_pid]) as session:
            zone = self._clock(session.connection(), practice_id)
            start, local_now = self._local(starts_at, zone), self._now(now, zone)
            old = _appointment(session, practice_id, appointment_id, lock=not self._sqlite)
            name = self._name(session, new_pid)
            replay = self._replayed(session, old, new_pid, start)
            if replay is not None:
                return _info(replay, name, existing=True)
            if old.status not in (AppointmentStatus.booked, AppointmentStatus.confirmed):
                raise AppointmentNotActive()
            if old.starts_at <= local_now:
                raise InvalidRequest("The appointment has already started or taken place.")
            plan, practice_plan = self._day_plan(session, practice_id, new_pid, start.date())
            kind_id, length = self._moved_length(old, plan, practice_plan, start, new_pid)
            self._check_bookable(session, practice_plan, plan, start, length, local_now, exclude_id=old.id)
            new = _replacement(old, new_pid, start, length, kind_id, booked_by, call_id)
            _set_status(old, AppointmentStatus.cancelled)
            session.flush()
            session.add(new)
            session.flush()
            log.info("appointment rescheduled", extra={"appointment_id": new.id, "from_id": old.id})
            return _info(new, name)

    @staticmethod
    def _replayed(session: Session, old: Appointment, pid: int, start: datetime) -> Appointment | None:
        """The result of this very reschedule if it already happened (idempotent retry)."""
        if old.status != AppointmentStatus.cancelled:
            if old.practitioner_id == pid and old.starts_at == start:
                return old
            return None
        successor = _active_at(session, pid, start)
        if successor is not None and successor.rescheduled_from_id == old.id:
            return successor
        return None

    def _moved_length(
        self, old: Appointment, plan: PractitionerPlan, practice_plan: PracticePlan, start: datetime, pid: int
    ) -> tuple[int | None, int]:
        if pid == old.practitioner_id:
            minutes = int((old.ends_at - old.starts_at).total_seconds() // 60)
            return old.consultation_type_id, minutes
        return self._length(plan, practice_plan, start, None, None)

    def _practitioner_of(self, practice_id: int, appointment_id: int) -> int:
        with self._read() as session:
            return _appointment(session, practice_id, appointment_id, lock=False).practitioner_id

    # --- patients ----------------------------------------------------------------------------------

    def find_patient_appointments(
        self,
        practice_id: int,
        *,
        phone: str,
        last_name: str | None = None,
        birth_date: date | None = None,
        now: datetime | None = None,
    ) -> list[AppointmentInfo]:
        """Upcoming active appointments of the patient identified by phone plus last name or birth date."""
        if not phone or not (last_name or birth_date):
            raise InvalidRequest("Give the phone number and the last name or the date of birth.")
        with self._read() as session:
            local_now = self._now(now, self._clock(session.connection(), practice_id))
            ids = matching_patient_ids(session, phone=phone, last_name=last_name, birth_date=birth_date)
            if not ids:
                return []
            return self._upcoming(session, practice_id, ids, local_now)

    def _upcoming(
        self, session: Session, practice_id: int, patient_ids: list[int], local_now: datetime
    ) -> list[AppointmentInfo]:
        c = store.APPOINTMENT.c
        query = (
            sa.select(Appointment)
            .where(
                c.practice_id == practice_id,
                c.patient_id.in_(patient_ids),
                c.starts_at > local_now,
                c.status.in_([AppointmentStatus.booked.value, AppointmentStatus.confirmed.value]),
            )
            .order_by(c.starts_at)
        )
        appointments = list(session.scalars(query).all())
        names = {r.id: r.display_name for r in store.load_records(session.connection(), practice_id)}
        return [_info(a, names.get(a.practitioner_id, "")) for a in appointments]

    def find_or_create_patient(
        self,
        practice_id: int,
        *,
        last_name: str,
        first_name: str = "",
        birth_date: date | None = None,
        phone: str = "",
    ) -> PatientInfo:
        """The patient with this phone and name (and birth date when both are known), created if new."""
        if not last_name.strip():
            raise InvalidRequest("A patient needs a last name.")
        with Session(self.engine, expire_on_commit=False) as session:
            store.load_practice(session.connection(), practice_id)
            info = find_or_create(
                session, last_name=last_name, first_name=first_name, birth_date=birth_date, phone=phone
            )
            session.commit()
            return info


def _active_at(session: Session, practitioner_id: int, start: datetime) -> Appointment | None:
    query = sa.select(Appointment).where(
        store.APPOINTMENT.c.practitioner_id == practitioner_id,
        store.APPOINTMENT.c.starts_at == start,
        store.APPOINTMENT.c.status != AppointmentStatus.cancelled.value,
    )
    return session.scalars(query).first()


def _appointment(session: Session, practice_id: int, appointment_id: int, *, lock: bool) -> Appointment:
    query = sa.select(Appointment).where(store.APPOINTMENT.c.id == appointment_id)
    if lock:
        query = query.with_for_update()
    appointment = session.scalars(query).first()
    if appointment is None or appointment.practice_id != practice_id:
        raise UnknownAppointment()
    return appointment


def _set_status(appointment: Appointment, status: AppointmentStatus) -> None:
    appointment.status = status.value
    appointment.updated_at = utc_now()


def _replacement(
    old: Appointment,
    practitioner_id: int,
    start: datetime,
    length: int,
    kind_id: int | None,
    booked_by: str,
    call_id: str | None,
) -> Appointment:
    return Appointment(
        practice_id=old.practice_id,
        practitioner_id=practitioner_id,
        patient_id=old.patient_id,
        consultation_type_id=kind_id,
        starts_at=start,
        ends_at=start + timedelta(minutes=length),
        reason=old.reason,
        booked_by=booked_by,
        call_id=call_id,
        rescheduled_from_id=old.id,
    )


def as_calendar(calendar: SqlCalendar) -> Calendar:
    """`SqlCalendar` seen through the Protocol (mypy checks that it conforms)."""
    return calendar
