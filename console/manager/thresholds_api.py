"""The manager's thresholds API: view, draft, validate, what-if replay, activate and roll back (audited)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from console.auth import ConsoleUser, CsrfProtected
from console.deps import EngineDep, SessionDep
from console.i18n import N_, language_of, tr
from console.manager.common import DbId, Manager, period, practices_in_scope
from console.manager.fields import FieldInfo, threshold_fields
from console.manager.whatif import EVAL_SET_PATH, Assessor, whatif
from escalation.threshold_store import ConfigNotFound, ConfigStateError, ThresholdStore
from escalation.thresholds import InvalidThresholds, parse_thresholds
from practice.models import AuditLog, ConfigStatus, Practice, ThresholdConfig, User

router = APIRouter(prefix="/api/manager/thresholds", tags=["manager: thresholds"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in"}, 403: {"description": "Not a manager or admin, or bad CSRF token"},
    404: {"description": "Unknown practice or version"},
    422: {"description": "Refused values: `detail.errors` lists each field with a message in the reader's "
                 "language (cookie permanence_lang: French by default, or English)"},
}


class ConfigVersion(BaseModel):
    id: int
    practice_id: int | None
    version: int
    status: str
    values: dict[str, Any]
    note: str
    created_by: str
    created_at: datetime
    activated_at: datetime | None


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    version: int | None
    reason: str
    changes: dict[str, Any]


class ThresholdsView(BaseModel):
    """A practice's thresholds page: the version in force, the current draft, history and audit trail."""

    practice_id: int | None
    practice_name: str
    active: ConfigVersion | None = Field(description="None: the group default or built-in values apply")
    effective_values: dict[str, Any]
    draft: ConfigVersion | None
    history: list[ConfigVersion]
    audit: list[AuditEntry]
    fields: list[FieldInfo]


class DraftBody(BaseModel):
    practice_id: DbId | None = Field(default=None, description="None: the group default")
    values: dict[str, Any] = Field(description="Settings (nested: sla_seconds: {urgent: 120}); missing → default")
    note: str = Field(default="", max_length=500)


class DraftUpdate(BaseModel):
    values: dict[str, Any]
    note: str | None = Field(default=None, max_length=500)


class ValuesBody(BaseModel):
    values: dict[str, Any]


class Validation(BaseModel):
    valid: bool
    values: dict[str, Any] | None
    errors: list[dict[str, str]]


class ReplayBody(BaseModel):
    practice_id: DbId | None = None
    values: dict[str, Any] = Field(description="The draft's settings")
    date_from: date | None = Field(default=None, description="First local day (default: 30 days ago)")
    date_to: date | None = Field(default=None, description="Last local day (default: today)")
    include_eval: bool = Field(default=True, description="Also replay the protocol's evaluation set")


class Figures(BaseModel):
    """How one configuration handled the replayed calls or utterances (rates are 0–1, None without data)."""

    total: int = Field(description="Calls (recorded) or utterances (evaluation set) replayed")
    escalation_rate: float | None = Field(description="Share sent to the 15, a secretary or a callback")
    levels: dict[str, int]
    actions: dict[str, int]
    labelled: int = Field(description="Calls or utterances with a reference level")
    accuracy: float | None
    emergencies: int = Field(description="Labelled emergencies")
    emergencies_caught: int
    emergencies_as_routine: int
    over_triage_rate: float | None = Field(description="Share of labelled cases rated above their reference")


class Change(BaseModel):
    """A call (its first changed turn) or an utterance the draft would handle differently (`call_id` links to the
    call; None for the evaluation set)."""

    id: str
    active: dict[str, str]
    draft: dict[str, str]
    call_id: str | None
    seq: int | None
    text: str
    label: str | None
    reviewed: bool = Field(default=False, description="The label is a manager's review of the call")
    rule_active: str
    rule_draft: str


class ReplaySection(BaseModel):
    unit: Literal["call", "utterance"] = Field(description="What the figures count: calls (a call is handled as "
                                              "its most serious turn) or utterances")
    active: Figures
    draft: Figures
    calls: int
    changed_total: int
    changed_calls: int
    changed: list[Change] = Field(description="The first 300 changes")


class ReplayResult(BaseModel):
    period: dict[str, str]
    recorded: ReplaySection = Field(description="The period's calls, each as its most serious caller turn "
                                    "(reference: the manager's review of the call, else the human's disposition, "
                                    "advised_15 → emergency, redirected_on_call → urgent)")
    evaluation: ReplaySection = Field(description="The protocol's labelled evaluation set")
    evaluation_available: bool


class ActivateBody(BaseModel):
    reason: str = Field(default="", max_length=500, description="Why (required, kept in the audit log)")


class RollbackBody(BaseModel):
    practice_id: DbId | None = None
    to_version: DbId
    reason: str = Field(default="", max_length=500, description="Why (required, kept in the audit log)")


# --- helpers -------------------------------------------------------------------------------------------------


def threshold_store(engine: EngineDep) -> ThresholdStore:
    return ThresholdStore(engine)


def _assessor(request: Request) -> Assessor:
    assessor: Assessor | None = getattr(request.app.state, "whatif_assessor", None)
    if assessor is None:
        assessor = Assessor()
        request.app.state.whatif_assessor = assessor
    return assessor


def _eval_path(request: Request) -> Path:
    path: Path = getattr(request.app.state, "triage_eval_path", EVAL_SET_PATH)
    return path


@contextmanager
def domain_errors() -> Iterator[None]:
    """The store's refusals as HTTP answers with French messages (the app's error handler translates them)."""
    try:
        yield
    except InvalidThresholds as exc:
        raise HTTPException(422, detail={"message": N_("Réglages refusés : corrigez les champs signalés."),
                                         "errors": exc.errors}) from exc
    except ConfigNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except ConfigStateError as exc:
        raise HTTPException(409, detail=str(exc)) from exc


def _reason(text: str) -> str:
    """The reason of a change is required (a message next to the field otherwise)."""
    reason = text.strip()
    if len(reason) < 3:
        raise HTTPException(422, detail={"message": N_("Indiquez pourquoi vous faites ce changement."),
                                         "errors": [{"field": "reason", "message": N_(
                                             "raison obligatoire (3 caractères au moins), elle est gardée "
                                             "dans le journal")}]})
    return reason


def _check_practice(user: ConsoleUser, practice_id: int | None) -> None:
    if practice_id is not None:
        practices_in_scope(user, practice_id)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.full_name, User.username).where(col(User.id).in_(ids)))
    return {int(i): str(full or name) for i, full, name in rows if i is not None}


def _version(row: ThresholdConfig, names: dict[int, str]) -> ConfigVersion:
    assert row.id is not None
    return ConfigVersion(id=row.id, practice_id=row.practice_id, version=row.version, status=row.status,
                         values=row.values, note=row.note, created_by=names.get(row.created_by or 0, ""),
                         created_at=row.created_at, activated_at=row.activated_at)


def _audit(row: AuditLog) -> AuditEntry:
    detail = row.detail or {}
    return AuditEntry(at=row.at, actor=row.actor, action=row.action, version=detail.get("version"),
                      reason=str(detail.get("reason", "")), changes=detail.get("changes", {}))


def thresholds_view(session: Session, store: ThresholdStore, practice_id: int | None,
                    language: str = "fr") -> ThresholdsView:
    history = store.history(practice_id)
    names = _names(session, {r.created_by for r in history if r.created_by})
    active_row = next((r for r in history if r.status == ConfigStatus.active), None)
    newest = history[0] if history else None
    draft = newest if newest is not None and newest.status == ConfigStatus.draft else None
    _, effective = store.active(practice_id)
    practice = session.get(Practice, practice_id) if practice_id is not None else None
    return ThresholdsView(
        practice_id=practice_id, practice_name=practice.name if practice else tr(language, GROUP_DEFAULT),
        active=_version(active_row, names) if active_row else None,
        effective_values=effective.model_dump(mode="json"), draft=_version(draft, names) if draft else None,
        history=[_version(r, names) for r in history], audit=[_audit(a) for a in store.audit_trail(practice_id)],
        fields=threshold_fields(language))


GROUP_DEFAULT = N_("Réglage par défaut du groupe")


def _practice_tz(session: Session, practice_id: int | None, request: Request) -> ZoneInfo:
    practice = session.get(Practice, practice_id) if practice_id is not None else None
    return ZoneInfo(practice.timezone) if practice else request.app.state.settings.tz


# --- routes --------------------------------------------------------------------------------------------------


@router.get("", response_model=ThresholdsView, responses=ERRORS,
            summary="A practice's thresholds: active version, draft, history, audit trail and field help")
def get_thresholds(user: Manager, session: SessionDep, engine: EngineDep, request: Request,
                   practice_id: Annotated[DbId | None, Query(description="None: the group default")] = None,
                   ) -> ThresholdsView:
    _check_practice(user, practice_id)
    return thresholds_view(session, threshold_store(engine), practice_id, language_of(request))


@router.get("/fields", response_model=list[FieldInfo],
            summary="Every tunable setting with its help, in the reader's language")
def get_fields(user: Manager, request: Request) -> list[FieldInfo]:
    return threshold_fields(language_of(request))


@router.post("/validate", response_model=Validation, dependencies=[CsrfProtected], responses=ERRORS,
             summary="Check values without saving anything")
def validate(body: ValuesBody, user: Manager, request: Request) -> Validation:
    try:
        parsed = parse_thresholds(body.values)
    except InvalidThresholds as exc:
        language = language_of(request)
        errors = [{**e, "message": tr(language, e["message"])} for e in exc.errors]
        return Validation(valid=False, values=None, errors=errors)
    return Validation(valid=True, values=parsed.model_dump(mode="json"), errors=[])


@router.post("/drafts", response_model=ConfigVersion, status_code=201, dependencies=[CsrfProtected],
             responses=ERRORS, summary="Save a new draft version (validated first; nothing saved if refused)")
def create_draft(body: DraftBody, user: Manager, session: SessionDep, engine: EngineDep) -> ConfigVersion:
    _check_practice(user, body.practice_id)
    with domain_errors():
        row = threshold_store(engine).create_draft(body.practice_id, body.values, actor_user_id=user.id,
                                                   actor=user.username, note=body.note)
    return _version(row, {user.id: user.full_name})


@router.put("/drafts/{config_id}", response_model=ConfigVersion, dependencies=[CsrfProtected],
            responses={**ERRORS, 409: {"description": "Not a draft any more"}}, summary="Replace a draft's values")
def update_draft(config_id: DbId, body: DraftUpdate, user: Manager, session: SessionDep,
                 engine: EngineDep) -> ConfigVersion:
    store = threshold_store(engine)
    with domain_errors():
        _check_practice(user, store.get(config_id).practice_id)
        row = store.update_draft(config_id, body.values, actor_user_id=user.id, actor=user.username, note=body.note)
    return _version(row, _names(session, {row.created_by} if row.created_by else set()))


@router.post("/replay", response_model=ReplayResult, dependencies=[CsrfProtected], responses=ERRORS,
             summary="What-if: the draft against the active version on the period's calls and the evaluation set")
def replay_draft(body: ReplayBody, user: Manager, session: SessionDep, engine: EngineDep,
                 request: Request) -> dict[str, Any]:
    _check_practice(user, body.practice_id)
    with domain_errors():
        draft = parse_thresholds(body.values)
    span = period(body.date_from, body.date_to, _practice_tz(session, body.practice_id, request))
    _, active = threshold_store(engine).active(body.practice_id)
    practice_ids = practices_in_scope(user, body.practice_id)
    return whatif(engine, practice_ids=practice_ids, span=span, active=active, draft=draft,
                  assessor=_assessor(request), eval_path=_eval_path(request) if body.include_eval else None)


@router.post("/{config_id}/activate", response_model=ConfigVersion, dependencies=[CsrfProtected],
             responses={**ERRORS, 409: {"description": "Not a draft"}},
             summary="Put a draft in force (the previous version is archived; who/when/why audited)")
def activate(config_id: DbId, body: ActivateBody, user: Manager, session: SessionDep,
             engine: EngineDep) -> ConfigVersion:
    store = threshold_store(engine)
    with domain_errors():
        _check_practice(user, store.get(config_id).practice_id)
        row = store.activate(config_id, actor_user_id=user.id, actor=user.username, reason=_reason(body.reason))
    return _version(row, _names(session, {row.created_by} if row.created_by else set()))


@router.post("/rollback", response_model=ConfigVersion, dependencies=[CsrfProtected], responses=ERRORS,
             summary="Put an earlier version back in force (as a new version; audited)")
def rollback(body: RollbackBody, user: Manager, session: SessionDep, engine: EngineDep) -> ConfigVersion:
    _check_practice(user, body.practice_id)
    with domain_errors():
        row = threshold_store(engine).rollback(body.practice_id, body.to_version, actor_user_id=user.id,
                                               actor=user.username, reason=_reason(body.reason))
    return _version(row, {user.id: user.full_name})
