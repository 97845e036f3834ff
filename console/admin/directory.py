"""Administration of the practice directory: practices, hours, closures, practitioners, visits, availability."""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from console.admin.audit import record, snapshot
from console.admin.errors import AdminError, Refusal, not_found
from console.admin.schemas import (
    AvailabilityIn,
    ClosureIn,
    ConsultationTypeIn,
    ExceptionIn,
    OpeningHoursIn,
    PracticeCreateIn,
    PracticeUpdateIn,
    PractitionerIn,
    PractitionerUpdateIn,
    check_subdivision,
)
from console.auth import ConsoleUser
from console.i18n import N_
from practice.models import (
    AvailabilityException,
    AvailabilityRule,
    ConsultationType,
    OpeningHours,
    Practice,
    PracticeClosure,
    Practitioner,
)

Row = TypeVar("Row", bound=SQLModel)


def get_row(session: Session, model: type[Row], row_id: Any, what: str) -> Row:
    row = session.get(model, row_id)
    if row is None:
        raise not_found(what)
    return row


def practice_for(session: Session, user: ConsoleUser, practice_id: int) -> Practice:
    """The practice if this user may administer it; otherwise it does not exist for her (404)."""
    if not user.serves(practice_id):
        raise not_found(N_("Cabinet"))
    return get_row(session, Practice, practice_id, N_("Cabinet"))


def practitioner_for(session: Session, user: ConsoleUser, practitioner_id: int) -> Practitioner:
    practitioner = get_row(session, Practitioner, practitioner_id, N_("Praticien"))
    practice_for(session, user, practitioner.practice_id)
    return practitioner


# --- practices ---------------------------------------------------------------------------------------


def list_practices(session: Session, user: ConsoleUser) -> list[Practice]:
    query = select(Practice).where(col(Practice.id).in_(user.practice_ids)).order_by(col(Practice.name))
    return list(session.exec(query))


def create_practice(session: Session, user: ConsoleUser, data: PracticeCreateIn) -> Practice:
    if session.exec(select(Practice.id).where(Practice.slug == data.slug)).first() is not None:
        raise AdminError(409, N_("L'identifiant court « {slug} » est déjà utilisé par un autre cabinet."),
                         slug=data.slug)
    practice = Practice(**data.model_dump())
    session.add(practice)
    session.flush()
    record(session, user, action="create", entity="practice", entity_id=practice.id, practice_id=practice.id,
           after=snapshot(practice))
    session.commit()
    return practice


def update_practice(session: Session, user: ConsoleUser, practice_id: int, data: PracticeUpdateIn) -> Practice:
    practice = practice_for(session, user, practice_id)
    before = snapshot(practice)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("after_hours_policy") is None:
        changes.pop("after_hours_policy", None)
    country = changes.get("holiday_country") or practice.holiday_country
    subdivision = changes.get("holiday_subdivision", practice.holiday_subdivision)
    try:
        check_subdivision(country, subdivision)
    except Refusal as exc:
        raise AdminError.refused(422, exc) from None
    for key, value in changes.items():
        if value is not None or key == "holiday_subdivision":
            setattr(practice, key, value)
    session.add(practice)
    record(session, user, action="update", entity="practice", entity_id=practice_id, practice_id=practice_id,
           before=before, after=snapshot(practice))
    session.commit()
    return practice


# --- opening hours and closures -----------------------------------------------------------------------


def opening_hours(session: Session, practice_id: int) -> list[OpeningHours]:
    query = select(OpeningHours).where(OpeningHours.practice_id == practice_id)
    return list(session.exec(query.order_by(col(OpeningHours.weekday), col(OpeningHours.opens))))


def replace_opening_hours(session: Session, user: ConsoleUser, practice_id: int,
                          data: OpeningHoursIn) -> list[OpeningHours]:
    practice_for(session, user, practice_id)
    before = [snapshot(r) for r in opening_hours(session, practice_id)]
    session.execute(sa.delete(OpeningHours).where(col(OpeningHours.practice_id) == practice_id))
    for window in data.windows:
        session.add(OpeningHours(practice_id=practice_id, **window.model_dump()))
    session.flush()
    after = [snapshot(r) for r in opening_hours(session, practice_id)]
    record(session, user, action="update", entity="opening_hours", entity_id=practice_id, practice_id=practice_id,
           before=before, after=after)
    session.commit()
    return opening_hours(session, practice_id)


def closures(session: Session, practice_id: int) -> list[PracticeClosure]:
    query = select(PracticeClosure).where(PracticeClosure.practice_id == practice_id)
    return list(session.exec(query.order_by(col(PracticeClosure.day))))


def add_closure(session: Session, user: ConsoleUser, practice_id: int, data: ClosureIn) -> PracticeClosure:
    practice_for(session, user, practice_id)
    row = PracticeClosure(practice_id=practice_id, **data.model_dump())
    return _created(session, user, row, "closure", practice_id)


def delete_closure(session: Session, user: ConsoleUser, closure_id: int) -> None:
    row = get_row(session, PracticeClosure, closure_id, N_("Fermeture"))
    practice_for(session, user, row.practice_id)
    _deleted(session, user, row, "closure", closure_id, row.practice_id)


# --- practitioners -------------------------------------------------------------------------------------


def practitioners(session: Session, practice_id: int) -> list[Practitioner]:
    query = select(Practitioner).where(Practitioner.practice_id == practice_id)
    return list(session.exec(query.order_by(col(Practitioner.last_name), col(Practitioner.first_name))))


def add_practitioner(session: Session, user: ConsoleUser, practice_id: int, data: PractitionerIn) -> Practitioner:
    practice_for(session, user, practice_id)
    return _created(session, user, Practitioner(practice_id=practice_id, **data.model_dump()), "practitioner",
                    practice_id)


def update_practitioner(session: Session, user: ConsoleUser, practitioner_id: int,
                        data: PractitionerUpdateIn) -> Practitioner:
    row = practitioner_for(session, user, practitioner_id)
    before = snapshot(row)
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(row, key, value)
    session.add(row)
    record(session, user, action="update", entity="practitioner", entity_id=practitioner_id,
           practice_id=row.practice_id, before=before, after=snapshot(row))
    session.commit()
    return row


def consultation_types(session: Session, practitioner_id: int) -> list[ConsultationType]:
    query = select(ConsultationType).where(ConsultationType.practitioner_id == practitioner_id)
    return list(session.exec(query.order_by(col(ConsultationType.name))))


def add_consultation_type(session: Session, user: ConsoleUser, practitioner_id: int,
                          data: ConsultationTypeIn) -> ConsultationType:
    practitioner = practitioner_for(session, user, practitioner_id)
    row = ConsultationType(practitioner_id=practitioner_id, **data.model_dump())
    return _created(session, user, row, "consultation_type", practitioner.practice_id)


def update_consultation_type(session: Session, user: ConsoleUser, type_id: int,
                             data: ConsultationTypeIn) -> ConsultationType:
    row = get_row(session, ConsultationType, type_id, N_("Type de consultation"))
    practitioner = practitioner_for(session, user, row.practitioner_id)
    before = snapshot(row)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    session.add(row)
    record(session, user, action="update", entity="consultation_type", entity_id=type_id,
           practice_id=practitioner.practice_id, before=before, after=snapshot(row))
    session.commit()
    return row


def delete_consultation_type(session: Session, user: ConsoleUser, type_id: int) -> None:
    row = get_row(session, ConsultationType, type_id, N_("Type de consultation"))
    practitioner = practitioner_for(session, user, row.practitioner_id)
    session.execute(sa.text("UPDATE appointment SET consultation_type_id = NULL WHERE consultation_type_id = :t"),
                    {"t": type_id})
    _deleted(session, user, row, "consultation_type", type_id, practitioner.practice_id)


# --- availability --------------------------------------------------------------------------------------


def availability(session: Session, practitioner_id: int) -> list[AvailabilityRule]:
    query = select(AvailabilityRule).where(AvailabilityRule.practitioner_id == practitioner_id)
    return list(session.exec(query.order_by(col(AvailabilityRule.weekday), col(AvailabilityRule.starts))))


def replace_availability(session: Session, user: ConsoleUser, practitioner_id: int,
                         data: AvailabilityIn) -> list[AvailabilityRule]:
    practitioner = practitioner_for(session, user, practitioner_id)
    before = [snapshot(r) for r in availability(session, practitioner_id)]
    session.execute(sa.delete(AvailabilityRule).where(col(AvailabilityRule.practitioner_id) == practitioner_id))
    for rule in data.rules:
        session.add(AvailabilityRule(practitioner_id=practitioner_id, **rule.model_dump()))
    session.flush()
    record(session, user, action="update", entity="availability", entity_id=practitioner_id,
           practice_id=practitioner.practice_id, before=before,
           after=[snapshot(r) for r in availability(session, practitioner_id)])
    session.commit()
    return availability(session, practitioner_id)


def exceptions(session: Session, practitioner_id: int) -> list[AvailabilityException]:
    query = select(AvailabilityException).where(AvailabilityException.practitioner_id == practitioner_id)
    return list(session.exec(query.order_by(col(AvailabilityException.starts_at))))


def add_exception(session: Session, user: ConsoleUser, practitioner_id: int,
                  data: ExceptionIn) -> AvailabilityException:
    practitioner = practitioner_for(session, user, practitioner_id)
    row = AvailabilityException(practitioner_id=practitioner_id, **data.model_dump())
    return _created(session, user, row, "availability_exception", practitioner.practice_id)


def delete_exception(session: Session, user: ConsoleUser, exception_id: int) -> None:
    row = get_row(session, AvailabilityException, exception_id, N_("Absence"))
    practitioner = practitioner_for(session, user, row.practitioner_id)
    _deleted(session, user, row, "availability_exception", exception_id, practitioner.practice_id)


# --- shared --------------------------------------------------------------------------------------------


def _created(session: Session, user: ConsoleUser, row: Row, entity: str, practice_id: int) -> Row:
    session.add(row)
    session.flush()
    record(session, user, action="create", entity=entity, entity_id=getattr(row, "id", ""), practice_id=practice_id,
           after=snapshot(row))
    session.commit()
    return row


def _deleted(session: Session, user: ConsoleUser, row: SQLModel, entity: str, row_id: int, practice_id: int) -> None:
    before = snapshot(row)
    session.delete(row)
    record(session, user, action="delete", entity=entity, entity_id=row_id, practice_id=practice_id, before=before)
    session.commit()
