"""The demo group practice: a maison de santé, three weeks of partly booked agendas and its recent call history."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import holidays
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from practice.db import session_scope
from practice.demo_history import seed_history
from practice.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    BookedBy,
    ConsultationType,
    OpeningHours,
    Patient,
    Practice,
    Practitioner,
    Role,
    User,
    UserPractice,
)
from practice.passwords import hash_password

DEMO_SLUG = "msp-des-tilleuls"
DEMO_PASSWORD = "demo"  # demo mode only: printed by `permanence demo`, never used by `permanence serve`
DEMO_WEEKS = 3
TAKEN_SHARE = 0.35

MON, TUE, WED, THU, FRI, SAT = range(6)

PRACTICE: dict[str, Any] = {
    "name": "Maison de santé des Tilleuls",
    "slug": DEMO_SLUG,
    "address": "12 rue des Tilleuls",
    "postcode": "69003",
    "city": "Lyon",
    "phone": "04 78 12 34 56",
    "email": "accueil@msp-tilleuls.example",
    "access_info": "Tram T1, arrêt Saxe-Préfecture, à 200 m. Rez-de-chaussée accessible en fauteuil. "
    "Parking payant rue Servient.",
    "what_to_bring": "Votre carte Vitale, votre attestation de mutuelle, vos ordonnances en cours et, "
    "pour un enfant, son carnet de santé.",
    "after_hours_policy": {
        "emergency_number": "15",
        "urgent_care_number": "116 117",
        "sos_medecins": "3624",
        "maison_medicale_de_garde": "Maison médicale de garde Lyon 3e, 04 78 00 00 15 (démo)",
        "emergency_stays_on_line": False,
    },
}

OPENING_HOURS: list[tuple[int, time, time]] = [
    *((day, time(8, 0), time(12, 30)) for day in (MON, TUE, WED, THU, FRI)),
    *((day, time(14, 0), time(19, 0)) for day in (MON, TUE, WED, THU, FRI)),
    (SAT, time(8, 30), time(12, 0)),
]


@dataclass(frozen=True)
class DemoPractitioner:
    title: str
    first_name: str
    last_name: str
    profession: str
    specialty: str
    languages: tuple[str, ...]
    consultations: tuple[tuple[str, int, bool], ...]
    rules: tuple[tuple[int, time, time, int], ...]


def _week(days: tuple[int, ...], morning: bool, afternoon: bool, slot: int) -> tuple[tuple[int, time, time, int], ...]:
    windows: list[tuple[int, time, time, int]] = []
    for day in days:
        if morning:
            windows.append((day, time(8, 30), time(12, 0), slot))
        if afternoon and day != SAT:
            windows.append((day, time(14, 0), time(18, 30), slot))
    return tuple(windows)


GP = (("Consultation", 20, True), ("Consultation longue", 40, False))
PRACTITIONERS: tuple[DemoPractitioner, ...] = (
    DemoPractitioner("Dr", "Claire", "Martin", "médecin généraliste", "médecine générale", ("fr",), GP,
                     _week((MON, TUE, THU, FRI), True, True, 20) + _week((WED, SAT), True, False, 20)),
    DemoPractitioner("Dr", "Antoine", "Lefebvre", "médecin généraliste", "médecine générale", ("fr", "en"), GP,
                     _week((MON, TUE, WED, FRI), True, True, 20)),
    DemoPractitioner("Dr", "Thomas", "Garnier", "médecin généraliste", "médecine générale", ("fr", "en"), GP,
                     _week((TUE, WED, THU), True, True, 20) + _week((SAT,), True, False, 20)),
    DemoPractitioner("Dr", "Sophie", "Nguyen", "pédiatre", "pédiatrie", ("fr", "en"),
                     (("Consultation", 20, True), ("Vaccination", 20, False)),
                     _week((MON, TUE, THU, FRI), True, True, 20)),
    DemoPractitioner("M.", "Julien", "Moreau", "masseur-kinésithérapeute", "kinésithérapie", ("fr",),
                     (("Séance de rééducation", 30, True),),
                     _week((MON, TUE, WED, THU, FRI), True, True, 30)),
    DemoPractitioner("Mme", "Nadia", "Benali", "infirmière", "soins infirmiers", ("fr", "ar"),
                     (("Soins au cabinet", 15, True), ("Prise de sang", 15, False)),
                     _week((MON, TUE, WED, THU, FRI), True, False, 15)),
    DemoPractitioner("Mme", "Élise", "Dubois", "sage-femme", "maïeutique", ("fr",),
                     (("Suivi de grossesse", 30, True), ("Consultation gynécologique", 30, False)),
                     _week((MON, WED, THU), True, True, 30)),
)

PATIENTS: tuple[tuple[str, str, date, str], ...] = (
    ("Jeanne", "Rousseau", date(1948, 3, 12), "0612345678"),
    ("Marc", "Petit", date(1979, 7, 2), "0623456789"),
    ("Léa", "Bernard", date(2019, 11, 23), "0634567890"),
    ("Karim", "Haddad", date(1990, 1, 30), "0645678901"),
    ("Sarah", "Cohen", date(1994, 5, 17), "0656789012"),
    ("Michel", "Fontaine", date(1956, 9, 8), "0667890123"),
    ("Emma", "Laurent", date(2001, 2, 14), "0678901234"),
    ("Paul", "Girard", date(1985, 12, 1), "0689012345"),
)

DEMO_USERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("secretaire", "Camille Secrétaire", Role.secretary, ("fr", "en", "pediatrics")),
    ("manager", "Hélène Responsable", Role.manager, ("fr",)),
    ("admin", "Admin Démo", Role.admin, ("fr",)),
)


@dataclass
class DemoSummary:
    """What `seed_demo` found or created, for the start-up banner and tests."""

    practice_id: int
    practitioners: int
    appointments_created: int
    usernames: tuple[str, ...]
    calls_created: int = 0  # history calls added by this start (0 once the history is there)


def seed_demo(engine: Engine, *, today: date, seed: int = 7, history: bool = False) -> DemoSummary:
    """Create the demo practice if missing and top up booked slots for the next weeks (idempotent).

    With `history`, also add the missing days of the last eight weeks of calls, up to yesterday."""
    with session_scope(engine) as session:
        practice = session.exec(select(Practice).where(Practice.slug == DEMO_SLUG)).first()
        if practice is None:
            practice = _create_practice(session, today)
        assert practice.id is not None
        _ensure_users(session, practice.id)
        practitioners = list(session.exec(select(Practitioner).where(Practitioner.practice_id == practice.id)))
        created = _book_some_slots(session, practice, practitioners, today=today, seed=seed)
        summary = DemoSummary(practice.id, len(practitioners), created, tuple(u[0] for u in DEMO_USERS))
    if history:
        summary.calls_created = seed_history(engine, summary.practice_id, patient_phones=[p[3] for p in PATIENTS],
                                             today=today, seed=seed)
    return summary


def _create_practice(session: Session, today: date) -> Practice:
    practice = Practice(**PRACTICE)
    session.add(practice)
    session.flush()
    assert practice.id is not None
    session.add_all(OpeningHours(practice_id=practice.id, weekday=d, opens=o, closes=c) for d, o, c in OPENING_HOURS)
    ids = [_create_practitioner(session, practice.id, spec) for spec in PRACTITIONERS]
    holiday_start = datetime.combine(today + timedelta(days=8), time.min)
    session.add(AvailabilityException(practitioner_id=ids[2], starts_at=holiday_start,
                                      ends_at=holiday_start + timedelta(days=4), reason="Congés"))
    session.add_all(Patient(first_name=f, last_name=n, birth_date=b, phone=p) for f, n, b, p in PATIENTS)
    session.flush()
    return practice


def _create_practitioner(session: Session, practice_id: int, spec: DemoPractitioner) -> int:
    row = Practitioner(
        practice_id=practice_id,
        title=spec.title,
        first_name=spec.first_name,
        last_name=spec.last_name,
        profession=spec.profession,
        specialty=spec.specialty,
        languages=list(spec.languages),
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add_all(
        ConsultationType(practitioner_id=row.id, name=n, duration_minutes=d, is_default=default)
        for n, d, default in spec.consultations
    )
    session.add_all(
        AvailabilityRule(practitioner_id=row.id, weekday=d, starts=s, ends=e, slot_minutes=m)
        for d, s, e, m in spec.rules
    )
    return row.id


def _ensure_users(session: Session, practice_id: int) -> None:
    existing = set(session.exec(select(User.username)))
    for username, full_name, role, skills in DEMO_USERS:
        if username in existing:
            continue
        user = User(username=username, full_name=full_name, role=role, skills=list(skills),
                    languages=[s for s in skills if len(s) == 2], password_hash=hash_password(DEMO_PASSWORD))
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(UserPractice(user_id=user.id, practice_id=practice_id))


def _book_some_slots(
    session: Session, practice: Practice, practitioners: list[Practitioner], *, today: date, seed: int
) -> int:
    """Take about a third of the grid over the next weeks, the same slots whatever the run."""
    patients = list(session.exec(select(Patient).order_by(Patient.id)))  # type: ignore[arg-type]
    if not patients:
        return 0
    closed = holidays.country_holidays(practice.holiday_country, years=range(today.year, today.year + 2))
    created = 0
    for practitioner in practitioners:
        assert practitioner.id is not None and practice.id is not None
        taken = _existing_starts(session, practitioner.id, today)
        absent = _absences(session, practitioner.id)
        for start, minutes in _grid(session, practitioner.id, today, closed):
            if start in taken or any(a <= start < b for a, b in absent):
                continue
            rng = random.Random(f"{seed}:{practitioner.id}:{start.isoformat()}")
            if rng.random() >= TAKEN_SHARE:
                continue
            patient = patients[rng.randrange(len(patients))]
            assert patient.id is not None
            session.add(Appointment(practice_id=practice.id, practitioner_id=practitioner.id, patient_id=patient.id,
                                    starts_at=start, ends_at=start + timedelta(minutes=minutes),
                                    booked_by=BookedBy.human, reason="Consultation"))
            created += 1
    return created


def _existing_starts(session: Session, practitioner_id: int, today: date) -> set[datetime]:
    since = datetime.combine(today, time.min)
    rows = session.exec(
        select(Appointment.starts_at).where(Appointment.practitioner_id == practitioner_id,
                                            Appointment.starts_at >= since)
    )
    return set(rows)


def _absences(session: Session, practitioner_id: int) -> list[tuple[datetime, datetime]]:
    rows = session.exec(select(AvailabilityException).where(AvailabilityException.practitioner_id == practitioner_id,
                                                            AvailabilityException.kind == "absence"))
    return [(r.starts_at, r.ends_at) for r in rows]


def _grid(session: Session, practitioner_id: int, today: date, closed: Any) -> Iterator[tuple[datetime, int]]:
    """Slot starts of the weekly rules from tomorrow on, for DEMO_WEEKS weeks, skipping public holidays."""
    rules = list(session.exec(select(AvailabilityRule).where(AvailabilityRule.practitioner_id == practitioner_id)))
    for offset in range(1, DEMO_WEEKS * 7 + 1):
        day = today + timedelta(days=offset)
        if day in closed:
            continue
        for rule in (r for r in rules if r.weekday == day.weekday()):
            start = datetime.combine(day, rule.starts)
            end = datetime.combine(day, rule.ends)
            while start + timedelta(minutes=rule.slot_minutes) <= end:
                yield start, rule.slot_minutes
                start += timedelta(minutes=rule.slot_minutes)
