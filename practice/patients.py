"""Patient identification for the calendar: phone number plus a name or a date of birth."""

from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlmodel import Session, SQLModel

from practice.calendar_types import PatientInfo
from practice.models import Patient
from practice.phones import normalise_phone, phone_variants
from practice.textnorm import normalise, phonetic_key

log = logging.getLogger(__name__)

_NAME_RATIO = 85.0
PATIENT = SQLModel.metadata.tables["patient"]


def names_match(said: str, stored: str) -> bool:
    """Tolerant name comparison (accents, case, ASR spelling): 'Lefèvre' matches 'LEFEBVRE'."""
    a, b = normalise(said), normalise(stored)
    if not a or not b:
        return False
    if a == b or fuzz.ratio(a, b) >= _NAME_RATIO:
        return True
    key = phonetic_key(a)
    return len(key) >= 2 and key == phonetic_key(b)


def _by_phone(session: Session, phone: str) -> list[Patient]:
    query = sa.select(Patient).where(PATIENT.c.phone.in_(phone_variants(phone))).order_by(PATIENT.c.id)
    return list(session.scalars(query).all())


def _identified(patient: Patient, last_name: str | None, birth_date: date | None) -> bool:
    if last_name and not names_match(last_name, patient.last_name):
        return False
    if birth_date is None:
        return bool(last_name)
    if patient.birth_date is None:
        return bool(last_name)
    return patient.birth_date == birth_date


def matching_patient_ids(session: Session, *, phone: str, last_name: str | None, birth_date: date | None) -> list[int]:
    """Patients with this phone whose every given detail (last name, birth date) agrees."""
    return [p.id for p in _by_phone(session, phone) if p.id is not None and _identified(p, last_name, birth_date)]


def _same_person(patient: Patient, last_name: str, first_name: str, birth_date: date | None) -> bool:
    if not names_match(last_name, patient.last_name):
        return False
    if first_name and patient.first_name and not names_match(first_name, patient.first_name):
        return False
    return birth_date is None or patient.birth_date is None or patient.birth_date == birth_date


def _candidates(session: Session, last_name: str, phone: str, birth_date: date | None) -> list[Patient]:
    if phone:
        return _by_phone(session, phone)
    if birth_date is None:
        return []
    query = sa.select(Patient).where(PATIENT.c.birth_date == birth_date).order_by(PATIENT.c.id)
    return list(session.scalars(query).all())


def _public(patient: Patient, *, created: bool) -> PatientInfo:
    assert patient.id is not None
    return PatientInfo(patient.id, patient.first_name, patient.last_name, patient.birth_date, patient.phone, created)


def find_or_create(
    session: Session, *, last_name: str, first_name: str, birth_date: date | None, phone: str
) -> PatientInfo:
    """The existing patient (same phone or birth date, and same name), or a new one; caller commits."""
    for patient in _candidates(session, last_name, phone, birth_date):
        if _same_person(patient, last_name, first_name, birth_date):
            if birth_date and patient.birth_date is None:
                patient.birth_date = birth_date
            return _public(patient, created=False)
    patient = Patient(
        last_name=last_name.strip(),
        first_name=first_name.strip(),
        birth_date=birth_date,
        phone=normalise_phone(phone) if phone else "",
    )
    session.add(patient)
    session.flush()
    log.info("patient created", extra={"patient_id": patient.id})
    return _public(patient, created=True)
