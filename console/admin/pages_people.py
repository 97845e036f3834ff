"""Administration pages (French, English): users and roles, the audit log, a patient's rights (export, erasure)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from console.admin import auditlog
from console.admin import directory as d
from console.admin import users as u
from console.admin.audit import record
from console.admin.errors import AdminError, PathId, not_found
from console.admin.forms import PageAdmin, PageManager, attempt, checked, lines_list, notice_url, render, text
from console.admin.gdpr_api import audit_filter
from console.admin.schemas import MAX_ID, ROLES_FR, PasswordIn, UserCreateIn, UserUpdateIn
from console.auth import ConsoleUser, CsrfProtected
from console.deps import SessionDep
from console.i18n import N_, language_of, tr
from practice import gdpr

router = APIRouter(prefix="/admin", include_in_schema=False)
CSRF = [CsrfProtected]
Text = Annotated[str, Query(max_length=100)]
Short = Annotated[str, Query(max_length=12)]


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- users -------------------------------------------------------------------------------------------------


def users_page(request: Request, user: ConsoleUser, session: Session, *, error: str = "",
               status: int = 200) -> Response:
    practices = {p.id: p.name for p in d.list_practices(session, user)}
    roles = {key: tr(language_of(request), label) for key, label in ROLES_FR.items()}
    return render(request, user, "users.html", {"users": u.list_users(session), "practices": practices,
                                                "roles": roles, "error": error}, status=status)


@router.get("/users", response_class=HTMLResponse)
def show_users(request: Request, user: PageAdmin, session: SessionDep) -> Response:
    return users_page(request, user, session)


def _practice_ids(values: list[Any]) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise AdminError(422, N_("Cabinet invalide.")) from None


@router.post("/users", dependencies=CSRF)
async def create_user(request: Request, user: PageAdmin, session: SessionDep) -> Response:
    form = await request.form()
    return attempt(request, lambda: u.create_user(session, user, UserCreateIn.model_validate({
        "username": text(form, "username"), "full_name": text(form, "full_name"), "role": text(form, "role"),
        "password": form.get("password") or "", "skills": lines_list(text(form, "skills")),
        "languages": lines_list(text(form, "languages")) or ["fr"],
        "practice_ids": _practice_ids(form.getlist("practice_ids"))})),
        notice_url("/admin/users", "user_created"),
        lambda m, s: users_page(request, user, session, error=m, status=s))


@router.post("/users/{user_id}", dependencies=CSRF)
async def update_user(user_id: PathId, request: Request, user: PageAdmin, session: SessionDep) -> Response:
    form = await request.form()
    return attempt(request, lambda: u.update_user(session, user, user_id, UserUpdateIn.model_validate({
        "full_name": text(form, "full_name"), "role": text(form, "role"), "active": checked(form, "active"),
        "skills": lines_list(text(form, "skills")), "languages": lines_list(text(form, "languages")) or ["fr"],
        "practice_ids": _practice_ids(form.getlist("practice_ids"))})),
        notice_url("/admin/users", "user_saved"),
        lambda m, s: users_page(request, user, session, error=m, status=s))


@router.post("/users/{user_id}/password", dependencies=CSRF)
async def reset_password(user_id: PathId, request: Request, user: PageAdmin, session: SessionDep) -> Response:
    form = await request.form()
    password = form.get("password")
    return attempt(request, lambda: u.reset_password(session, user, user_id, PasswordIn(
        password=password if isinstance(password, str) else "")),
        notice_url("/admin/users", "password_changed"),
        lambda m, s: users_page(request, user, session, error=m, status=s))


# --- audit log ---------------------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def show_audit(request: Request, user: PageManager, session: SessionDep, actor: Text = "", practice_id: Short = "",
               entity: Text = "", entity_id: Text = "", action: Text = "", since: Short = "",
               until: Short = "") -> Response:
    """The form's empty fields mean "any": they come as empty strings, not as missing values."""
    chosen = int(practice_id) if practice_id.isdigit() and 0 < int(practice_id) <= MAX_ID else None
    f = audit_filter(actor, chosen, entity, entity_id, action, _day(since), _day(until))
    rows = auditlog.search(session, user, f, limit=200)
    query = str(request.url.query)
    return render(request, user, "audit.html", {"rows": rows, "f": f, "query": query,
                                                "practices": d.list_practices(session, user)})


# --- a patient's rights ------------------------------------------------------------------------------------


def patients_page(request: Request, user: ConsoleUser, session: Session, *, phone: str = "", name: str = "",
                  birth_date: date | None = None, error: str = "", status: int = 200) -> Response:
    found = gdpr.find_patients(session, phone=phone, name=name, birth_date=birth_date) if (
        phone or name or birth_date) else []
    if phone or name or birth_date:
        record(session, user, action="search", entity="patient", entity_id="", practice_id=None, results=len(found))
        session.commit()
    context = {"found": found, "phone": phone, "name": name, "birth_date": birth_date, "error": error,
               "confirmation": gdpr.CONFIRMATION}
    return render(request, user, "patients.html", context, status=status)


@router.get("/patients", response_class=HTMLResponse)
def show_patients(request: Request, user: PageAdmin, session: SessionDep) -> Response:
    return patients_page(request, user, session)


@router.post("/patients", response_class=HTMLResponse, dependencies=CSRF)
async def search_patients(request: Request, user: PageAdmin, session: SessionDep) -> Response:
    """A POST form: a patient's name or number must not end up in URLs, browser history or access logs."""
    form = await request.form()
    return patients_page(request, user, session, phone=text(form, "phone")[:30], name=text(form, "name")[:100],
                         birth_date=_day(text(form, "birth_date")[:12]))


@router.post("/patients/{patient_id}/erase", dependencies=CSRF)
async def erase_patient(patient_id: PathId, request: Request, user: PageAdmin, session: SessionDep) -> Response:
    form = await request.form()

    def act() -> None:
        if text(form, "confirm") != gdpr.CONFIRMATION:
            raise AdminError(422, N_("Effacement non confirmé : tapez {word} dans la case prévue."),
                             word=gdpr.CONFIRMATION)
        try:
            counts = gdpr.erase_patient(session, patient_id)
        except gdpr.PatientNotFound:
            raise not_found(N_("Patient")) from None
        record(session, user, action="erase", entity="patient", entity_id=patient_id, practice_id=None,
               counts=gdpr.counts_dict(counts))
        session.commit()

    return attempt(request, act, notice_url("/admin/patients", "patient_erased"),
                   lambda m, s: patients_page(request, user, session, error=m, status=s))
