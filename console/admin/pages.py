"""Administration pages (French, English): the group's practices, their hours, closures, practitioners, retention."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from console.admin import directory as d
from console.admin.errors import PathId
from console.admin.forms import (
    PageAdmin,
    PageManager,
    attempt,
    checked,
    format_spans,
    lines_list,
    notice_url,
    parse_spans,
    render,
    text,
)
from console.admin.gdpr_api import retention_of, set_retention
from console.admin.schemas import (
    RETENTION_LABELS,
    AfterHoursPolicy,
    AvailabilityIn,
    ClosureIn,
    ConsultationTypeIn,
    ExceptionIn,
    OpeningHoursIn,
    PracticeCreateIn,
    PracticeUpdateIn,
    PractitionerIn,
    PractitionerUpdateIn,
    RetentionIn,
)
from console.auth import ConsoleUser, CsrfProtected
from console.deps import SessionDep
from console.i18n import N_, language_of, tr
from practice.models import AvailabilityException, ConsultationType, PracticeClosure

router = APIRouter(prefix="/admin", include_in_schema=False)
CSRF = [CsrfProtected]


def index_page(request: Request, user: ConsoleUser, session: SessionDep, error: str = "",
               status: int = 200) -> Response:
    return render(request, user, "index.html", {"practices": d.list_practices(session, user), "error": error},
                  status=status)


@router.get("", response_class=HTMLResponse)
def index(request: Request, user: PageManager, session: SessionDep) -> Response:
    return index_page(request, user, session)


@router.post("/practices", dependencies=CSRF)
async def create_practice(request: Request, user: PageAdmin, session: SessionDep) -> Response:
    form = await request.form()

    def act() -> Any:
        return d.create_practice(session, user, PracticeCreateIn(name=text(form, "name"), slug=text(form, "slug")))

    return attempt(request, act, notice_url("/admin", "practice_added"),
                   lambda m, s: index_page(request, user, session, m, s))


# --- one practice ------------------------------------------------------------------------------------------


def practice_page(request: Request, user: ConsoleUser, session: SessionDep, practice_id: PathId, *, error: str = "",
                  status: int = 200) -> Response:
    practice = d.practice_for(session, user, practice_id)
    hours = format_spans([(r.weekday, r.opens, r.closes) for r in d.opening_hours(session, practice_id)])
    context = {"practice": practice, "policy": AfterHoursPolicy(**practice.after_hours_policy), "hours": hours,
               "closures": d.closures(session, practice_id), "practitioners": d.practitioners(session, practice_id),
               "retention": retention_of(session, practice_id), "error": error,
               "retention_labels": {k: tr(language_of(request), v) for k, v in RETENTION_LABELS.items()}}
    return render(request, user, "practice.html", context, status=status)


@router.get("/practices/{practice_id}", response_class=HTMLResponse)
def show_practice(practice_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    return practice_page(request, user, session, practice_id)


def _practice_update(form: FormData) -> PracticeUpdateIn:
    fields = ("name", "address", "postcode", "city", "phone", "email", "access_info", "what_to_bring", "timezone",
              "holiday_country")
    policy = AfterHoursPolicy(emergency_number=text(form, "emergency_number"),
                              urgent_care_number=text(form, "urgent_care_number"),
                              sos_medecins=text(form, "sos_medecins"),
                              maison_medicale_de_garde=text(form, "maison_medicale_de_garde"),
                              emergency_stays_on_line=checked(form, "emergency_stays_on_line"))
    values: dict[str, Any] = {f: text(form, f) for f in fields}
    return PracticeUpdateIn(**values, holiday_subdivision=text(form, "holiday_subdivision") or None,
                            recording_enabled=checked(form, "recording_enabled"), after_hours_policy=policy)


def _on_practice(request: Request, user: ConsoleUser, session: SessionDep, practice_id: PathId) -> Any:
    return lambda message, status: practice_page(request, user, session, practice_id, error=message, status=status)


@router.post("/practices/{practice_id}", dependencies=CSRF)
async def save_practice(practice_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    form = await request.form()
    return attempt(request, lambda: d.update_practice(session, user, practice_id, _practice_update(form)),
                   notice_url(f"/admin/practices/{practice_id}", "settings_saved"),
                   _on_practice(request, user, session, practice_id))


def _week(form: FormData) -> OpeningHoursIn:
    windows = []
    for day in range(7):
        for opens, closes in parse_spans(text(form, f"day{day}"), day):
            windows.append({"weekday": day, "opens": opens, "closes": closes})
    return OpeningHoursIn.model_validate({"windows": windows})


@router.post("/practices/{practice_id}/hours", dependencies=CSRF)
async def save_hours(practice_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    form = await request.form()
    return attempt(request, lambda: d.replace_opening_hours(session, user, practice_id, _week(form)),
                   notice_url(f"/admin/practices/{practice_id}", "hours_saved", "#horaires"),
                   _on_practice(request, user, session, practice_id))


@router.post("/practices/{practice_id}/closures", dependencies=CSRF)
async def add_closure(practice_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    form = await request.form()
    return attempt(request, lambda: d.add_closure(session, user, practice_id, ClosureIn.model_validate(
        {"day": text(form, "day"), "reason": text(form, "reason")})),
                   notice_url(f"/admin/practices/{practice_id}", "closure_added", "#fermetures"),
                   _on_practice(request, user, session, practice_id))


@router.post("/closures/{closure_id}/delete", dependencies=CSRF)
def delete_closure(closure_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    closure = d.get_row(session, PracticeClosure, closure_id, N_("Fermeture"))
    pid = closure.practice_id
    return attempt(request, lambda: d.delete_closure(session, user, closure_id),
                   notice_url(f"/admin/practices/{pid}", "closure_deleted", "#fermetures"),
                   _on_practice(request, user, session, pid))


@router.post("/practices/{practice_id}/practitioners", dependencies=CSRF)
async def add_practitioner(practice_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    form = await request.form()
    return attempt(request, lambda: d.add_practitioner(session, user, practice_id, _practitioner(form)),
                   notice_url(f"/admin/practices/{practice_id}", "practitioner_added", "#praticiens"),
                   _on_practice(request, user, session, practice_id))


def _practitioner(form: FormData) -> PractitionerIn:
    return PractitionerIn.model_validate({
        "title": text(form, "title"), "first_name": text(form, "first_name"), "last_name": text(form, "last_name"),
        "profession": text(form, "profession"), "specialty": text(form, "specialty"),
        "languages": lines_list(text(form, "languages")) or ["fr"], "active": checked(form, "active")})


@router.post("/practices/{practice_id}/retention", dependencies=CSRF)
async def save_retention(practice_id: PathId, request: Request, user: PageAdmin, session: SessionDep) -> Response:
    form = await request.form()

    def act() -> Any:
        values = {k: text(form, k) for k in RETENTION_LABELS}
        return set_retention(session, user, practice_id, RetentionIn.model_validate(values))

    done = notice_url(f"/admin/practices/{practice_id}", "retention_saved", "#conservation")
    return attempt(request, act, done, _on_practice(request, user, session, practice_id))


# --- one practitioner --------------------------------------------------------------------------------------


def practitioner_page(request: Request, user: ConsoleUser, session: SessionDep, practitioner_id: PathId, *,
                      error: str = "", status: int = 200) -> Response:
    practitioner = d.practitioner_for(session, user, practitioner_id)
    rules = d.availability(session, practitioner_id)
    context = {"p": practitioner, "practice": d.practice_for(session, user, practitioner.practice_id),
               "types": d.consultation_types(session, practitioner_id),
               "availability": format_spans([(r.weekday, r.starts, r.ends) for r in rules]),
               "slot_minutes": rules[0].slot_minutes if rules else 20,
               "exceptions": d.exceptions(session, practitioner_id), "error": error}
    return render(request, user, "practitioner.html", context, status=status)


def _on_practitioner(request: Request, user: ConsoleUser, session: SessionDep, practitioner_id: PathId) -> Any:
    return lambda m, s: practitioner_page(request, user, session, practitioner_id, error=m, status=s)


@router.get("/practitioners/{practitioner_id}", response_class=HTMLResponse)
def show_practitioner(practitioner_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    return practitioner_page(request, user, session, practitioner_id)


@router.post("/practitioners/{practitioner_id}", dependencies=CSRF)
async def save_practitioner(practitioner_id: PathId, request: Request, user: PageManager,
                            session: SessionDep) -> Response:
    form = await request.form()

    def act() -> Any:
        data = PractitionerUpdateIn.model_validate(_practitioner(form).model_dump())
        return d.update_practitioner(session, user, practitioner_id, data)

    return attempt(request, act,
                   notice_url(f"/admin/practitioners/{practitioner_id}", "practitioner_saved"),
                   _on_practitioner(request, user, session, practitioner_id))


@router.post("/practitioners/{practitioner_id}/types", dependencies=CSRF)
async def add_type(practitioner_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    form = await request.form()
    data = {"name": text(form, "name"), "duration_minutes": text(form, "duration_minutes"),
            "is_default": checked(form, "is_default")}
    return attempt(request, lambda: d.add_consultation_type(session, user, practitioner_id,
                                                            ConsultationTypeIn.model_validate(data)),
                   notice_url(f"/admin/practitioners/{practitioner_id}", "type_added", "#types"),
                   _on_practitioner(request, user, session, practitioner_id))


@router.post("/consultation-types/{type_id}/delete", dependencies=CSRF)
def delete_type(type_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    row = d.get_row(session, ConsultationType, type_id, N_("Type de consultation"))
    pid = row.practitioner_id
    return attempt(request, lambda: d.delete_consultation_type(session, user, type_id),
                   notice_url(f"/admin/practitioners/{pid}", "type_deleted", "#types"),
                   _on_practitioner(request, user, session, pid))


def _availability(form: FormData) -> AvailabilityIn:
    rules = []
    for day in range(7):
        for starts, ends in parse_spans(text(form, f"day{day}"), day):
            rules.append({"weekday": day, "starts": starts, "ends": ends,
                          "slot_minutes": text(form, "slot_minutes") or "20"})
    return AvailabilityIn.model_validate({"rules": rules})


@router.post("/practitioners/{practitioner_id}/availability", dependencies=CSRF)
async def save_availability(practitioner_id: PathId, request: Request, user: PageManager,
                            session: SessionDep) -> Response:
    form = await request.form()
    return attempt(request, lambda: d.replace_availability(session, user, practitioner_id, _availability(form)),
                   notice_url(f"/admin/practitioners/{practitioner_id}", "availability_saved",
                              "#disponibilites"),
                   _on_practitioner(request, user, session, practitioner_id))


@router.post("/practitioners/{practitioner_id}/exceptions", dependencies=CSRF)
async def add_exception(practitioner_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    form = await request.form()
    return attempt(request, lambda: d.add_exception(session, user, practitioner_id, ExceptionIn.model_validate(
        {"kind": text(form, "kind") or "absence", "starts_at": text(form, "starts_at"),
         "ends_at": text(form, "ends_at"), "reason": text(form, "reason")})),
                   notice_url(f"/admin/practitioners/{practitioner_id}", "absence_added", "#absences"),
                   _on_practitioner(request, user, session, practitioner_id))


@router.post("/exceptions/{exception_id}/delete", dependencies=CSRF)
def delete_exception(exception_id: PathId, request: Request, user: PageManager, session: SessionDep) -> Response:
    row = d.get_row(session, AvailabilityException, exception_id, N_("Absence"))
    pid = row.practitioner_id
    return attempt(request, lambda: d.delete_exception(session, user, exception_id),
                   notice_url(f"/admin/practitioners/{pid}", "absence_deleted", "#absences"),
                   _on_practitioner(request, user, session, pid))
