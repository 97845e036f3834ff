"""A patient's data on request (GDPR): find, export everything held about her, and erase it irreversibly."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from practice.models import Appointment, AuditLog, Call, CallReview, Patient, Ticket, TicketEvent, Turn
from practice.phones import phone_variants
from practice.textnorm import normalise as fold

ERASED_NAME = "[effacé]"
CONFIRMATION = "EFFACER"


class PatientNotFound(LookupError):
    """No patient with this id."""


@dataclass
class ErasureCounts:
    appointments: int = 0
    calls: int = 0
    turns: int = 0
    tickets: int = 0
    ticket_events: int = 0
    audit_notes: int = 0
    call_reviews: int = 0


def find_patients(session: Session, *, phone: str = "", name: str = "", birth_date: date | None = None,
                  limit: int = 50) -> list[Patient]:
    """Patients matching every criterion given (phone in any spelling, last or first name, date of birth)."""
    query = select(Patient)
    if phone.strip():
        query = query.where(col(Patient.phone).in_(phone_variants(phone)))
    if birth_date is not None:
        query = query.where(Patient.birth_date == birth_date)
    rows = list(session.exec(query.order_by(col(Patient.last_name), col(Patient.id)).limit(2000)))
    if name.strip():
        wanted = fold(name)
        rows = [p for p in rows if wanted in fold(f"{p.first_name} {p.last_name}")]
    return rows[:limit]


def _patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound(f"patient {patient_id} not found")
    return patient


def _calls(session: Session, patient: Patient) -> list[Call]:
    """Calls linked to the patient, or made from her number."""
    linked = col(Call.patient_id) == patient.id
    if patient.phone:
        linked = sa.or_(linked, col(Call.caller_number).in_(phone_variants(patient.phone)))
    return list(session.exec(select(Call).where(linked).order_by(col(Call.started_at))))


def _dump(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = row.model_dump(mode="json")
    return data


def export_patient(session: Session, patient_id: int) -> dict[str, Any]:
    """Everything held about one patient, as JSON-ready data."""
    patient = _patient(session, patient_id)
    calls = _calls(session, patient)
    ids = [c.id for c in calls]
    appointments = session.exec(select(Appointment).where(Appointment.patient_id == patient_id)
                                .order_by(col(Appointment.starts_at)))
    turns = session.exec(select(Turn).where(col(Turn.call_id).in_(ids)).order_by(col(Turn.call_id), col(Turn.seq)))
    tickets = session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))
    reviews = session.exec(select(CallReview).where(col(CallReview.call_id).in_(ids)))
    return {"patient": _dump(patient), "appointments": [_dump(a) for a in appointments],
            "calls": [_dump(c) for c in calls], "turns": [_dump(t) for t in turns],
            "tickets": [_dump(t) for t in tickets], "call_reviews": [_dump(r) for r in reviews]}


def erase_patient(session: Session, patient_id: int) -> ErasureCounts:
    """Anonymise the patient everywhere (kept rows stay for statistics, with nothing identifying); not committed."""
    patient = _patient(session, patient_id)
    calls = _calls(session, patient)
    ids = [c.id for c in calls]
    counts = ErasureCounts(calls=len(calls))
    counts.appointments = _blank_appointments(session, patient_id)
    counts.turns = _blank_turns(session, ids)
    counts.tickets = _blank_tickets(session, ids)
    counts.ticket_events = _blank_events(session, ids)
    counts.audit_notes = _blank_audit_notes(session, ids)
    counts.call_reviews = _delete_reviews(session, ids)
    for call in calls:
        call.caller_number, call.patient_id = "", None
        session.add(call)
    patient.first_name, patient.last_name, patient.birth_date, patient.phone = "", ERASED_NAME, None, ""
    session.add(patient)
    return counts


def _blank_appointments(session: Session, patient_id: int) -> int:
    rows = list(session.exec(select(Appointment).where(Appointment.patient_id == patient_id)))
    for row in rows:
        row.reason = ""
        session.add(row)
    return len(rows)


def _blank_turns(session: Session, call_ids: list[str]) -> int:
    rows = list(session.exec(select(Turn).where(col(Turn.call_id).in_(call_ids))))
    for row in rows:
        row.text, row.triage = "", None
        session.add(row)
    return len(rows)


def _blank_tickets(session: Session, call_ids: list[str]) -> int:
    rows = list(session.exec(select(Ticket).where(col(Ticket.id).in_(call_ids))))
    for row in rows:
        row.summary, row.reason, row.caller_number = {}, "", ""
        session.add(row)
    return len(rows)


def _blank_events(session: Session, call_ids: list[str]) -> int:
    rows = list(session.exec(select(TicketEvent).where(col(TicketEvent.ticket_id).in_(call_ids))))
    for row in rows:
        row.detail = {k: v for k, v in row.detail.items() if k in {"disposition", "level", "status"}}
        session.add(row)
    return len(rows)


def _delete_reviews(session: Session, call_ids: list[str]) -> int:
    """The level a manager retained for these calls goes with their transcripts (nothing left to replay)."""
    result = session.execute(sa.delete(CallReview).where(col(CallReview.call_id).in_(call_ids)))
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _blank_audit_notes(session: Session, call_ids: list[str]) -> int:
    """Free notes written about these calls may name the patient: they go, the audit facts stay."""
    rows = list(session.exec(select(AuditLog).where(col(AuditLog.entity).in_(["ticket", "call"]),
                                                    col(AuditLog.entity_id).in_(call_ids))))
    touched = [r for r in rows if "note" in r.detail]
    for row in touched:
        row.detail = {**row.detail, "note": ""}
        session.add(row)
    return len(touched)


def counts_dict(counts: ErasureCounts) -> dict[str, int]:
    return asdict(counts)
