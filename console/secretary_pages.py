"""Console pages of the secretary: login, logout and the live queue (server-rendered shell + JS, French or English)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from console.api.queue import TAKE_ROLES, VIEW_ROLES, dispositions_in
from console.auth import (
    CSRF_FIELD,
    CsrfProtected,
    CurrentUser,
    LoginLimiter,
    OptionalUser,
    authenticate,
    clear_session,
    client_address,
    new_session,
    read_session,
    write_session,
)
from console.deps import SessionDep
from console.i18n import language_of, tr
from console.pages import templates

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["session"])


class Me(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    practice_ids: list[int]
    csrf_token: str


@api_router.get("/me", response_model=Me, summary="The logged-in user and the CSRF token to send on POSTs")
def me(user: CurrentUser, request: Request) -> Me:
    data = read_session(request)
    return Me(id=user.id, username=user.username, full_name=user.full_name, role=user.role,
              practice_ids=list(user.practice_ids), csrf_token=data.csrf if data else "")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> Response:
    existing = read_session(request)
    data = existing or new_session()
    page = _login(request, csrf=data.csrf, next_url=next)
    if existing is None:
        write_session(request, page, data)
    return page


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfProtected])
def login(
    request: Request, session: SessionDep, username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)], next: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    limiter: LoginLimiter = request.app.state.login_limiter
    address = client_address(request)
    data = read_session(request)
    csrf = data.csrf if data else ""
    wait_s = limiter.locked_for(username, address)
    if wait_s:
        minutes = max(1, round(wait_s / 60))
        error = tr(language_of(request), "Trop de tentatives : compte bloqué sur ce poste. "
                   "Réessayez dans {minutes} minute(s).", minutes=minutes)
        return _login(request, csrf=csrf, next_url=next, error=error, username=username, status=429)
    user = authenticate(session, username, password)
    if user is None or user.id is None:
        limiter.failed(username, address)
        error = tr(language_of(request), "Identifiant ou mot de passe incorrect.")
        return _login(request, csrf=csrf, next_url=next, error=error, username=username, status=401)
    limiter.succeeded(username, address)
    response = RedirectResponse(_safe_next(next, user.role), status_code=303)
    write_session(request, response, new_session(user.id))
    return response


@router.post("/logout", dependencies=[CsrfProtected])
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    clear_session(request, response)
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, user: OptionalUser) -> Response:
    if user is None:
        return RedirectResponse("/login?next=/queue", status_code=303)
    if user.role not in VIEW_ROLES:
        return HTMLResponse(tr(language_of(request), "Accès refusé."), status_code=403)
    data = read_session(request)
    context = {"user": user, "csrf": data.csrf if data else "", "can_take": user.role in TAKE_ROLES,
               "dispositions": dispositions_in(language_of(request)), "csrf_field": CSRF_FIELD}
    return templates.TemplateResponse(request, "queue.html", context)


def _login(request: Request, *, csrf: str, next_url: str, error: str = "", username: str = "",
           status: int = 200) -> HTMLResponse:
    demo = bool(request.app.state.settings.demo_mode)
    context = {"csrf": csrf, "csrf_field": CSRF_FIELD, "next": next_url, "error": error, "username": username,
               "demo": demo}
    return templates.TemplateResponse(request, "login.html", context, status_code=status)


def _safe_next(next_url: str, role: str) -> str:
    """Only local paths: never redirect a fresh login to another site."""
    if next_url.startswith("/") and not next_url.startswith(("//", "/\\")):
        return next_url
    return "/queue" if role in TAKE_ROLES else "/"
