"""A manager's review of a recorded call: the level retained after reading it (page form and JSON API, audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from console.auth import CSRF_FIELD, ConsoleUser, CsrfProtected, OptionalUser, read_session
from console.deps import SessionDep
from console.i18n import language_of, tr
from console.manager.common import MANAGER_ROLES, Manager, call_in_scope
from console.pages import templates
from escalation.triage.models import LEVELS
from practice.models import AuditLog, Call, CallReview, utc_now

CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                description="The call's id (also its ticket's id)")]
AUDIT_ACTION = "review"
SAVED = "saved"

page_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/manager/calls", tags=["manager: call review"])
router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in"}, 403: {"description": "Not a manager or admin, or bad CSRF token"},
    404: {"description": "Unknown call, or a call of a practice outside the user's scope"},
    422: {"description": "Unknown level: `detail.errors` names the field with a message in the user's language"},
}


class ReviewBody(BaseModel):
    level: str = Field(default="", description="The level retained: emergency, urgent or routine")


class ReviewOut(BaseModel):
    level: str
    reviewer: str = Field(description="Who reviewed the call (full name at the time)")
    reviewed_by: int | None
    reviewed_at: datetime


class CallReviewView(BaseModel):
    """A call's triage level and the level a manager retained after reading it (None: not reviewed)."""

    call_id: str
    practice_id: int | None
    triage_level: str
    review: ReviewOut | None


# --- the review itself ------------------------------------------------------------------------------------


def save_review(session: Session, user: ConsoleUser, call: Call, level: str) -> CallReview:
    """Retain `level` for the call (replacing an earlier review) and audit who changed what; committed."""
    review = session.get(CallReview, call.id)
    previous = review.level if review is not None else None
    review = review or CallReview(call_id=call.id, level=level)
    review.level, review.reviewed_by, review.reviewer = level, user.id, user.full_name
    review.reviewed_at = utc_now()
    session.add(review)
    session.add(AuditLog(actor_user_id=user.id, actor=user.username, practice_id=call.practice_id,
                         action=AUDIT_ACTION, entity="call", entity_id=call.id,
                         detail={"level": level, "previous": previous, "triage_level": call.triage_level}))
    session.commit()
    session.refresh(review)
    return review


def review_view(session: Session, call: Call) -> CallReviewView:
    review = session.get(CallReview, call.id)
    out = ReviewOut(level=review.level, reviewer=review.reviewer, reviewed_by=review.reviewed_by,
                    reviewed_at=review.reviewed_at) if review is not None else None
    return CallReviewView(call_id=call.id, practice_id=call.practice_id, triage_level=call.triage_level, review=out)


def level_problem(language: str, level: str) -> str | None:
    """Why this level cannot be retained, in the user's language (None: it can)."""
    if level in LEVELS:
        return None
    return tr(language, "Niveau inconnu : choisissez urgence vitale, urgent ou courant.")


# --- the page's form ----------------------------------------------------------------------------------------


def _page_gate(request: Request, user: ConsoleUser | None, call_id: str) -> Response | None:
    """Login first (back to the call afterwards); only managers and admins."""
    if user is None:
        return RedirectResponse(f"/login?next={quote(f'/manager/calls/{call_id}', safe='/')}", status_code=303)
    if user.role not in MANAGER_ROLES:
        return HTMLResponse(tr(language_of(request), "Accès réservé aux responsables."), status_code=403)
    return None


def _refused(request: Request, user: ConsoleUser, call_id: str, message: str) -> Response:
    data = read_session(request)
    context = {"user": user, "csrf": data.csrf if data else "", "csrf_field": CSRF_FIELD, "page": "call",
               "call_id": call_id, "message": message}
    return templates.TemplateResponse(request, "manager/review_error.html", context, status_code=422)


@page_router.post("/manager/calls/{call_id}/review", dependencies=[CsrfProtected])
def review_from_page(call_id: CallId, request: Request, user: OptionalUser, session: SessionDep,
                     level: Annotated[str, Form()] = "") -> Response:
    """The call page's "Relecture" form: retain a level, then back to the call with a notice."""
    if (gate := _page_gate(request, user, call_id)) is not None:
        return gate
    assert user is not None
    call = call_in_scope(session, user, call_id)
    if call is None:
        return HTMLResponse(tr(language_of(request), "Appel introuvable."), status_code=404)
    if (problem := level_problem(language_of(request), level)) is not None:
        return _refused(request, user, call_id, problem)
    save_review(session, user, call, level)
    return RedirectResponse(f"/manager/calls/{call.id}?review={SAVED}#relecture", status_code=303)


# --- the JSON twin ------------------------------------------------------------------------------------------


def _api_call(request: Request, session: Session, user: ConsoleUser, call_id: str) -> Call:
    call = call_in_scope(session, user, call_id)
    if call is None:
        raise HTTPException(404, detail=tr(language_of(request), "Appel introuvable."))
    return call


@api_router.get("/{call_id}/review", response_model=CallReviewView, responses=ERRORS,
                summary="A call's triage level and the level retained after review (None: not reviewed)")
def get_review(call_id: CallId, request: Request, user: Manager, session: SessionDep) -> CallReviewView:
    return review_view(session, _api_call(request, session, user, call_id))


@api_router.put("/{call_id}/review", response_model=CallReviewView, dependencies=[CsrfProtected], responses=ERRORS,
                summary="Retain a level for a call after reading it (replaces an earlier review; audited)")
def put_review(call_id: CallId, body: ReviewBody, request: Request, user: Manager,
               session: SessionDep) -> CallReviewView:
    call = _api_call(request, session, user, call_id)
    if (problem := level_problem(language_of(request), body.level)) is not None:
        raise HTTPException(422, detail={"message": problem, "errors": [{"field": "level", "message": problem}]})
    save_review(session, user, call, body.level)
    return review_view(session, call)


router.include_router(page_router)
router.include_router(api_router)
