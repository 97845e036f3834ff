"""GDPR API under /api/admin: audit log (filter, export), retention per practice, purge, a patient's rights."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from console.admin import auditlog
from console.admin.api import ERRORS, Admin, Manager
from console.admin.audit import record
from console.admin.directory import practice_for
from console.admin.errors import AdminError, PathId, not_found
from console.admin.schemas import (
    MAX_ID,
    AuditOut,
    EraseIn,
    PatientOut,
    PatientQuery,
    PurgeOut,
    RetentionIn,
    RetentionOut,
)
from console.auth import ConsoleUser, CsrfProtected
from console.deps import SessionDep
from console.i18n import N_
from practice import gdpr
from practice.models import RetentionPolicy, utc_now
from practice.retention import DEFAULTS, purge

router = APIRouter(prefix="/api/admin", tags=["gdpr"], responses=ERRORS)
CSRF = [CsrfProtected]
Text = Annotated[str, Query(max_length=80)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def audit_filter(actor: Text = "", practice_id: OptionalId = None, entity: Text = "", entity_id: Text = "",
                 action: Text = "", since: date | None = None, until: date | None = None) -> auditlog.AuditFilter:
    return auditlog.AuditFilter(actor=actor, practice_id=practice_id, entity=entity, entity_id=entity_id,
                                action=action, since=since, until=until)




@router.get("/audit", response_model=list[AuditOut], summary="Audit log: who viewed or changed what (filters)")
def list_audit(user: Manager, session: SessionDep, actor: Text = "", practice_id: OptionalId = None,
               entity: Text = "", entity_id: Text = "", action: Text = "", since: date | None = None,
               until: date | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[Any]:
    f = audit_filter(actor, practice_id, entity, entity_id, action, since, until)
    return auditlog.search(session, user, f, limit=limit, offset=offset)


@router.get("/audit/export", summary="Audit log export (CSV or JSON), same filters",
            responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export_audit(user: Manager, session: SessionDep, format: Literal["csv", "json"] = "csv", actor: Text = "",
                 practice_id: OptionalId = None, entity: Text = "", entity_id: Text = "", action: Text = "",
                 since: date | None = None, until: date | None = None) -> Any:
    f = audit_filter(actor, practice_id, entity, entity_id, action, since, until)
    record(session, user, action="export", entity="audit_log", entity_id="", practice_id=None,
           filters={"actor": actor, "entity": entity, "action": action, "practice_id": practice_id,
                    "format": format})
    session.commit()
    stamp = f"{utc_now():%Y%m%d-%H%M%S}"
    if format == "json":
        return JSONResponse(auditlog.export_json(session, user, f), headers={
            "Content-Disposition": f'attachment; filename="journal-audit-{stamp}.json"'})
    return Response(auditlog.export_csv(session, user, f), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="journal-audit-{stamp}.csv"'})


# --- retention ---------------------------------------------------------------------------------------------


def retention_of(session: Session, practice_id: PathId) -> RetentionOut:
    row = session.get(RetentionPolicy, practice_id)
    if row is None:
        return RetentionOut(practice_id=practice_id, is_default=True, **DEFAULTS.__dict__)
    return RetentionOut(practice_id=practice_id, is_default=False, audio_days=row.audio_days,
                        transcript_days=row.transcript_days, summary_days=row.summary_days,
                        metadata_days=row.metadata_days)


def set_retention(session: Session, user: ConsoleUser, practice_id: PathId, body: RetentionIn) -> RetentionOut:
    practice_for(session, user, practice_id)
    before = retention_of(session, practice_id).model_dump()
    row = session.get(RetentionPolicy, practice_id) or RetentionPolicy(practice_id=practice_id)
    for key, value in body.model_dump().items():
        setattr(row, key, value)
    row.updated_at = utc_now()
    session.add(row)
    record(session, user, action="update", entity="retention", entity_id=practice_id, practice_id=practice_id,
           before=before, after=body.model_dump())
    session.commit()
    return retention_of(session, practice_id)


@router.get("/practices/{practice_id}/retention", response_model=RetentionOut, summary="Retention durations (days)")
def get_retention(practice_id: PathId, user: Manager, session: SessionDep) -> RetentionOut:
    practice_for(session, user, practice_id)
    return retention_of(session, practice_id)


@router.put("/practices/{practice_id}/retention", response_model=RetentionOut,
            summary="Set the retention durations of a practice", dependencies=CSRF)
def put_retention(practice_id: PathId, body: RetentionIn, user: Admin, session: SessionDep) -> RetentionOut:
    return set_retention(session, user, practice_id, body)


class PurgeIn(BaseModel):
    dry_run: bool = True


@router.post("/retention/purge", response_model=PurgeOut, summary="Run the retention purge now (dry run by default)",
             dependencies=CSRF)
def run_purge(body: PurgeIn, user: Admin, session: SessionDep, request: Request) -> dict[str, Any]:
    report = purge(request.app.state.engine, dry_run=body.dry_run,
                   recordings_dir=Path(request.app.state.settings.data_dir) / "recordings")
    record(session, user, action="purge_requested", entity="retention", entity_id="", practice_id=None,
           dry_run=body.dry_run, total=report.to_dict()["total"])
    session.commit()
    return report.to_dict()


# --- a patient's rights ---------------------------------------------------------------------------------------


@router.post("/patients/search", response_model=list[PatientOut], dependencies=CSRF,
             summary="Find a patient by phone, name or date of birth (POST: the criteria stay out of URLs and logs)")
def find_patients(body: PatientQuery, user: Admin, session: SessionDep) -> list[Any]:
    if not (body.phone.strip() or body.name.strip() or body.birth_date):
        raise AdminError(422, N_("Donnez au moins un critère : téléphone, nom ou date de naissance."))
    found = gdpr.find_patients(session, phone=body.phone, name=body.name, birth_date=body.birth_date)
    record(session, user, action="search", entity="patient", entity_id="", practice_id=None, results=len(found),
           criteria=[k for k, v in body.model_dump().items() if v])
    session.commit()
    return found


@router.get("/patients/{patient_id}/export", summary="Everything held about one patient (JSON download)")
def export_patient(patient_id: PathId, user: Admin, session: SessionDep) -> JSONResponse:
    try:
        data = gdpr.export_patient(session, patient_id)
    except gdpr.PatientNotFound:
        raise not_found(N_("Patient")) from None
    record(session, user, action="export", entity="patient", entity_id=patient_id, practice_id=None,
           calls=len(data["calls"]), appointments=len(data["appointments"]))
    session.commit()
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="patient-{patient_id}.json"'})


class ErasureOut(BaseModel):
    patient_id: PathId
    erased: dict[str, int]


@router.post("/patients/{patient_id}/erase", response_model=ErasureOut,
             summary="Erase a patient's data (irreversible; body {\"confirm\": \"EFFACER\"})", dependencies=CSRF)
def erase_patient(patient_id: PathId, body: EraseIn, user: Admin, session: SessionDep) -> ErasureOut:
    if body.confirm != gdpr.CONFIRMATION:
        raise AdminError(422, N_("Confirmation manquante : tapez {word} pour effacer (irréversible)."),
                         word=gdpr.CONFIRMATION)
    try:
        counts = gdpr.erase_patient(session, patient_id)
    except gdpr.PatientNotFound:
        raise not_found(N_("Patient")) from None
    erased = gdpr.counts_dict(counts)
    record(session, user, action="erase", entity="patient", entity_id=patient_id, practice_id=None, counts=erased)
    session.commit()
    return ErasureOut(patient_id=patient_id, erased=erased)
