"""Test data: a small maison de santé with opening hours, practitioners, rules and patients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy.engine import Engine

from practice.db import session_scope
from practice.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    ConsultationType,
    OpeningHours,
    Patient,
    Practice,
    PracticeClosure,
    Practitioner,
)

# Monday 4 March 2030, 07:00 local: every test passes this `now`, so nothing depends on today.
NOW = datetime(2030, 3, 4, 7, 0)
MONDAY = date(2030, 3, 4)

WEEKDAYS = (0, 1, 2, 3, 4)
MORNING = (time(8, 30), time(12, 30))
AFTERNOON = (time(14, 0), time(19, 0))
SATURDAY = (time(8, 30), time(12, 0))


@dataclass(frozen=True)
class PractitionerSpec:
    key: str
    title: str
    first_name: str
    last_name: str
    profession: str
    specialty: str = ""
    weekdays: tuple[int, ...] = WEEKDAYS
    windows: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 30)), (time(14, 0), time(18, 0)))
    slot_minutes: int = 20
    kinds: tuple[tuple[str, int, bool], ...] = ()
    active: bool = True


SPECS: tuple[PractitionerSpec, ...] = (
    PractitionerSpec(
        "claire_martin",
        "Dr",
        "Claire",
        "Martin",
        "Médecin généraliste",
        kinds=(("Consultation", 20, True), ("Première consultation", 40, False)),
    ),
    PractitionerSpec(
        "paul_martin",
        "Dr",
        "Paul",
        "Martin",
        "Médecin généraliste",
        weekdays=(0, 1, 3, 4),
        windows=((time(9, 0), time(12, 0)), (time(14, 0), time(19, 0))),
    ),
    PractitionerSpec(
        "lefebvre",
        "Dr",
        "Jean",
        "Lefebvre",
        "Médecin",
        "Pédiatrie",
        weekdays=(0, 2, 4),
        windows=((time(9, 0), time(12, 0)), (time(14, 0), time(17, 0))),
        slot_minutes=30,
    ),
    PractitionerSpec(
        "dubois",
        "Mme",
        "Sophie",
        "Dubois",
        "Sage-femme",
        weekdays=(1, 3),
        windows=((time(9, 0), time(12, 30)), (time(14, 0), time(18, 0))),
        slot_minutes=30,
    ),
    PractitionerSpec(
        "girard",
        "M.",
        "Marc",
        "Girard",
        "Masseur-kinésithérapeute",
        windows=((time(8, 0), time(12, 0)),),
        slot_minutes=30,
    ),
    PractitionerSpec(
        "bernard",
        "Mme",
        "Julie",
        "Bernard",
        "Infirmière",
        weekdays=(0, 1, 2, 3, 4, 5),
        windows=((time(8, 30), time(10, 30)),),
        slot_minutes=15,
    ),
    PractitionerSpec("retired", "Dr", "Henri", "Vasseur", "Médecin généraliste", active=False),
)


@dataclass
class Clinic:
    """Ids of what `make_clinic` created; `practitioners` is keyed by `PractitionerSpec.key`."""

    practice_id: int
    practitioners: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)


def _opening_hours(practice_id: int) -> list[OpeningHours]:
    rows = [
        OpeningHours(practice_id=practice_id, weekday=d, opens=o, closes=c)
        for d in WEEKDAYS
        for o, c in (MORNING, AFTERNOON)
    ]
    rows.append(OpeningHours(practice_id=practice_id, weekday=5, opens=SATURDAY[0], closes=SATURDAY[1]))
    return rows


def _add_practitioner(session, practice_id: int, spec: PractitionerSpec, clinic: Clinic) -> None:
    doctor = Practitioner(
        practice_id=practice_id,
        title=spec.title,
        first_name=spec.first_name,
        last_name=spec.last_name,
        profession=spec.profession,
        specialty=spec.specialty,
        active=spec.active,
    )
    session.add(doctor)
    session.flush()
    clinic.practitioners[spec.key] = doctor.id
    for weekday in spec.weekdays:
        for starts, ends in spec.windows:
            session.add(
                AvailabilityRule(
                    practitioner_id=doctor.id, weekday=weekday, starts=starts, ends=ends, slot_minutes=spec.slot_minutes
                )
            )
    for name, minutes, is_default in spec.kinds:
        kind = ConsultationType(practitioner_id=doctor.id, name=name, duration_minutes=minutes, is_default=is_default)
        session.add(kind)
        session.flush()
        clinic.kinds[f"{spec.key}:{name}"] = kind.id


def make_clinic(engine: Engine, *, slug: str = "tilleuls", subdivision: str | None = None) -> Clinic:
    """A maison de santé: weekday hours with a lunch break, Saturday morning, seven practitioners."""
    with session_scope(engine) as session:
        practice = Practice(
            name="Maison de santé des Tilleuls", slug=slug, city="Lyon", holiday_subdivision=subdivision
        )
        session.add(practice)
        session.flush()
        assert practice.id is not None
        clinic = Clinic(practice.id)
        session.add_all(_opening_hours(practice.id))
        for spec in SPECS:
            _add_practitioner(session, practice.id, spec, clinic)
    return clinic


def make_patient(
    engine: Engine,
    *,
    last_name: str = "Durand",
    first_name: str = "Alice",
    birth_date: date | None = date(1985, 6, 12),
    phone: str = "+33612345678",
) -> int:
    with session_scope(engine) as session:
        patient = Patient(last_name=last_name, first_name=first_name, birth_date=birth_date, phone=phone)
        session.add(patient)
        session.flush()
        assert patient.id is not None
        return patient.id


def add_absence(engine: Engine, practitioner_id: int, starts_at: datetime, ends_at: datetime, *, extra=False):
    with session_scope(engine) as session:
        session.add(
            AvailabilityException(
                practitioner_id=practitioner_id,
                kind="extra" if extra else "absence",
                starts_at=starts_at,
                ends_at=ends_at,
            )
        )


def add_closure(engine: Engine, practice_id: int, day: date) -> None:
    with session_scope(engine) as session:
        session.add(PracticeClosure(practice_id=practice_id, day=day, reason="travaux"))


def add_appointment(
    engine: Engine, practice_id: int, practitioner_id: int, patient_id: int, starts_at: datetime, minutes: int
) -> int:
    """An appointment written directly (no calendar checks), to prepare a busy agenda."""
    from datetime import timedelta

    with session_scope(engine) as session:
        appointment = Appointment(
            practice_id=practice_id,
            practitioner_id=practitioner_id,
            patient_id=patient_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
        )
        session.add(appointment)
        session.flush()
        assert appointment.id is not None
        return appointment.id
