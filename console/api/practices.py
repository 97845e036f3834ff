"""Read-only practice directory routes: practices, opening hours, practitioners."""

from __future__ import annotations

from datetime import time

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlmodel import select

from console.deps import SessionDep
from practice.models import ConsultationType, OpeningHours, Practice, PracticePublic, Practitioner, PractitionerPublic

router = APIRouter(prefix="/api/practices", tags=["practices"])


class OpeningWindow(BaseModel):
    weekday: int
    opens: time
    closes: time


class PracticeDetail(PracticePublic):
    opening_hours: list[OpeningWindow]


class ConsultationTypePublic(BaseModel):
    id: int
    name: str
    duration_minutes: int
    is_default: bool


class PractitionerDetail(PractitionerPublic):
    consultation_types: list[ConsultationTypePublic]


def _practice_or_404(session: SessionDep, practice_id: int) -> Practice:
    practice = session.get(Practice, practice_id)
    if practice is None:
        raise HTTPException(status_code=404, detail=f"practice {practice_id} not found")
    return practice


@router.get("", response_model=list[PracticePublic], summary="Practices of the group")
def list_practices(session: SessionDep) -> list[Practice]:
    return list(session.exec(select(Practice).order_by(Practice.name)))


@router.get("/{practice_id}", response_model=PracticeDetail, summary="One practice with its opening hours")
def get_practice(practice_id: int, session: SessionDep) -> PracticeDetail:
    practice = _practice_or_404(session, practice_id)
    rows = session.exec(
        select(OpeningHours)
        .where(OpeningHours.practice_id == practice_id)
        .order_by(OpeningHours.weekday, OpeningHours.opens)  # type: ignore[arg-type]
    )
    windows = [OpeningWindow(weekday=r.weekday, opens=r.opens, closes=r.closes) for r in rows]
    return PracticeDetail(**practice.model_dump(), opening_hours=windows)


@router.get(
    "/{practice_id}/practitioners", response_model=list[PractitionerDetail], summary="Practitioners of a practice"
)
def list_practitioners(practice_id: int, session: SessionDep) -> list[PractitionerDetail]:
    _practice_or_404(session, practice_id)
    practitioners = session.exec(
        select(Practitioner).where(Practitioner.practice_id == practice_id).order_by(Practitioner.last_name)
    )
    return [_practitioner_detail(session, p) for p in practitioners]


def _practitioner_detail(session: SessionDep, practitioner: Practitioner) -> PractitionerDetail:
    types = session.exec(select(ConsultationType).where(ConsultationType.practitioner_id == practitioner.id))
    return PractitionerDetail(
        **practitioner.model_dump(),
        consultation_types=[ConsultationTypePublic.model_validate(t, from_attributes=True) for t in types],
    )
