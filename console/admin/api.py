"""JSON administration API under /api/admin: practices, hours, closures, practitioners, visits, users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from console.admin import directory as d
from console.admin import users as u
from console.admin.errors import PathId
from console.admin.schemas import (
    AvailabilityIn,
    ClosureIn,
    ClosureOut,
    ConsultationTypeIn,
    ConsultationTypeOut,
    ExceptionIn,
    ExceptionOut,
    OpeningHoursIn,
    PasswordIn,
    PracticeCreateIn,
    PracticeOut,
    PracticeUpdateIn,
    PractitionerIn,
    PractitionerOut,
    PractitionerUpdateIn,
    RuleIn,
    UserCreateIn,
    UserOut,
    UserUpdateIn,
    Window,
)
from console.auth import ConsoleUser, CsrfProtected, require_role
from console.deps import SessionDep
from practice.models import Role

MANAGE_ROLES = (Role.manager, Role.admin)
ADMIN_ROLES = (Role.admin,)
Manager = Annotated[ConsoleUser, require_role(*MANAGE_ROLES)]
Admin = Annotated[ConsoleUser, require_role(*ADMIN_ROLES)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Connexion requise"}, 403: {"description": "Rôle insuffisant ou jeton CSRF invalide"},
    404: {"description": "Introuvable"}, 409: {"description": "Conflit"},
}

router = APIRouter(prefix="/api/admin", tags=["administration"], responses=ERRORS)
CSRF = [CsrfProtected]


def _out(model: type[Any], row: Any) -> Any:
    return model.model_validate(row, from_attributes=True)


# --- practices -------------------------------------------------------------------------------------------


@router.get("/practices", response_model=list[PracticeOut], summary="Practices this user administers")
def list_practices(user: Manager, session: SessionDep) -> list[Any]:
    return d.list_practices(session, user)


@router.post("/practices", response_model=PracticeOut, status_code=201, summary="Add a practice", dependencies=CSRF)
def create_practice(body: PracticeCreateIn, user: Admin, session: SessionDep) -> Any:
    return d.create_practice(session, user, body)


@router.get("/practices/{practice_id}", response_model=PracticeOut, summary="One practice")
def get_practice(practice_id: PathId, user: Manager, session: SessionDep) -> Any:
    return d.practice_for(session, user, practice_id)


@router.patch("/practices/{practice_id}", response_model=PracticeOut, summary="Change a practice's settings",
               dependencies=CSRF)
def update_practice(practice_id: PathId, body: PracticeUpdateIn, user: Manager, session: SessionDep) -> Any:
    return d.update_practice(session, user, practice_id, body)


@router.get("/practices/{practice_id}/opening-hours", response_model=list[Window], summary="Opening windows")
def get_hours(practice_id: PathId, user: Manager, session: SessionDep) -> list[Any]:
    d.practice_for(session, user, practice_id)
    return [_out(Window, r) for r in d.opening_hours(session, practice_id)]


@router.put("/practices/{practice_id}/opening-hours", response_model=list[Window],
            summary="Replace the week's opening windows (two windows a day make a lunch break)", dependencies=CSRF)
def put_hours(practice_id: PathId, body: OpeningHoursIn, user: Manager, session: SessionDep) -> list[Any]:
    return [_out(Window, r) for r in d.replace_opening_hours(session, user, practice_id, body)]


@router.get("/practices/{practice_id}/closures", response_model=list[ClosureOut], summary="Closure days")
def get_closures(practice_id: PathId, user: Manager, session: SessionDep) -> list[Any]:
    d.practice_for(session, user, practice_id)
    return d.closures(session, practice_id)


@router.post("/practices/{practice_id}/closures", response_model=ClosureOut, status_code=201,
             summary="Add a closure day", dependencies=CSRF)
def add_closure(practice_id: PathId, body: ClosureIn, user: Manager, session: SessionDep) -> Any:
    return d.add_closure(session, user, practice_id, body)


@router.delete("/closures/{closure_id}", status_code=204, summary="Remove a closure day", dependencies=CSRF)
def delete_closure(closure_id: PathId, user: Manager, session: SessionDep) -> Response:
    d.delete_closure(session, user, closure_id)
    return Response(status_code=204)


# --- practitioners ---------------------------------------------------------------------------------------


@router.get("/practices/{practice_id}/practitioners", response_model=list[PractitionerOut], summary="Practitioners")
def list_practitioners(practice_id: PathId, user: Manager, session: SessionDep) -> list[Any]:
    d.practice_for(session, user, practice_id)
    return d.practitioners(session, practice_id)


@router.post("/practices/{practice_id}/practitioners", response_model=PractitionerOut, status_code=201,
             summary="Add a practitioner", dependencies=CSRF)
def add_practitioner(practice_id: PathId, body: PractitionerIn, user: Manager, session: SessionDep) -> Any:
    return d.add_practitioner(session, user, practice_id, body)


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerOut, summary="One practitioner")
def get_practitioner(practitioner_id: PathId, user: Manager, session: SessionDep) -> Any:
    return d.practitioner_for(session, user, practitioner_id)


@router.patch("/practitioners/{practitioner_id}", response_model=PractitionerOut,
              summary="Change a practitioner (active: false hides him from booking)", dependencies=CSRF)
def update_practitioner(practitioner_id: PathId, body: PractitionerUpdateIn, user: Manager, session: SessionDep) -> Any:
    return d.update_practitioner(session, user, practitioner_id, body)


@router.get("/practitioners/{practitioner_id}/consultation-types", response_model=list[ConsultationTypeOut],
            summary="Kinds of visit and their durations")
def list_types(practitioner_id: PathId, user: Manager, session: SessionDep) -> list[Any]:
    d.practitioner_for(session, user, practitioner_id)
    return d.consultation_types(session, practitioner_id)


@router.post("/practitioners/{practitioner_id}/consultation-types", response_model=ConsultationTypeOut,
             status_code=201, summary="Add a kind of visit", dependencies=CSRF)
def add_type(practitioner_id: PathId, body: ConsultationTypeIn, user: Manager, session: SessionDep) -> Any:
    return d.add_consultation_type(session, user, practitioner_id, body)


@router.put("/consultation-types/{type_id}", response_model=ConsultationTypeOut, summary="Change a kind of visit",
            dependencies=CSRF)
def update_type(type_id: PathId, body: ConsultationTypeIn, user: Manager, session: SessionDep) -> Any:
    return d.update_consultation_type(session, user, type_id, body)


@router.delete("/consultation-types/{type_id}", status_code=204, summary="Remove a kind of visit", dependencies=CSRF)
def delete_type(type_id: PathId, user: Manager, session: SessionDep) -> Response:
    d.delete_consultation_type(session, user, type_id)
    return Response(status_code=204)


@router.get("/practitioners/{practitioner_id}/availability", response_model=list[RuleIn],
            summary="Weekly availability")
def get_availability(practitioner_id: PathId, user: Manager, session: SessionDep) -> list[Any]:
    d.practitioner_for(session, user, practitioner_id)
    return [_out(RuleIn, r) for r in d.availability(session, practitioner_id)]


@router.put("/practitioners/{practitioner_id}/availability", response_model=list[RuleIn],
            summary="Replace the weekly availability", dependencies=CSRF)
def put_availability(practitioner_id: PathId, body: AvailabilityIn, user: Manager, session: SessionDep) -> list[Any]:
    return [_out(RuleIn, r) for r in d.replace_availability(session, user, practitioner_id, body)]


@router.get("/practitioners/{practitioner_id}/exceptions", response_model=list[ExceptionOut],
            summary="Absences and extra openings")
def list_exceptions(practitioner_id: PathId, user: Manager, session: SessionDep) -> list[Any]:
    d.practitioner_for(session, user, practitioner_id)
    return d.exceptions(session, practitioner_id)


@router.post("/practitioners/{practitioner_id}/exceptions", response_model=ExceptionOut, status_code=201,
             summary="Add an absence or an extra opening", dependencies=CSRF)
def add_exception(practitioner_id: PathId, body: ExceptionIn, user: Manager, session: SessionDep) -> Any:
    return d.add_exception(session, user, practitioner_id, body)


@router.delete("/exceptions/{exception_id}", status_code=204, summary="Remove an absence", dependencies=CSRF)
def delete_exception(exception_id: PathId, user: Manager, session: SessionDep) -> Response:
    d.delete_exception(session, user, exception_id)
    return Response(status_code=204)


# --- users -----------------------------------------------------------------------------------------------


@router.get("/users", response_model=list[UserOut], summary="Console users (secretaries, managers, admins)")
def list_users(user: Admin, session: SessionDep) -> list[UserOut]:
    return u.list_users(session)


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user (password hashed)",
             dependencies=CSRF)
def create_user(body: UserCreateIn, user: Admin, session: SessionDep) -> UserOut:
    return u.create_user(session, user, body)


@router.get("/users/{user_id}", response_model=UserOut, summary="One user")
def get_user(user_id: PathId, user: Admin, session: SessionDep) -> UserOut:
    return u.user_out(session, u.get_user(session, user_id))


@router.patch("/users/{user_id}", response_model=UserOut,
              summary="Change role, practices, skills, or disable (the last admin cannot be removed)",
              dependencies=CSRF)
def update_user(user_id: PathId, body: UserUpdateIn, user: Admin, session: SessionDep) -> UserOut:
    return u.update_user(session, user, user_id, body)


@router.post("/users/{user_id}/password", status_code=204, summary="Set a new password", dependencies=CSRF)
def reset_password(user_id: PathId, body: PasswordIn, user: Admin, session: SessionDep) -> Response:
    u.reset_password(session, user, user_id, body)
    return Response(status_code=204)
