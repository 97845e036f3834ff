"""The browser softphone page: call the agent from the microphone over the /media-stream WebSocket."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from console.auth import OptionalUser
from console.deps import SessionDep
from console.pages import templates
from practice.models import Practice

router = APIRouter(include_in_schema=False)

DEMO_CALLER = "06 12 34 56 78"


@router.get("/softphone", response_class=HTMLResponse)
def softphone(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    """Open to anyone in demo mode; behind the console login otherwise."""
    demo = bool(request.app.state.settings.demo_mode)
    if user is None and not demo:
        return RedirectResponse("/login?next=/softphone", status_code=303)
    practices = [p for p in session.exec(select(Practice).order_by(Practice.name))
                 if user is None or user.serves(p.id)]
    token = request.app.state.media_admission.client_token(user.id if user is not None else None)
    context = {"practices": practices, "demo": demo, "caller": DEMO_CALLER if demo else "", "token": token}
    return templates.TemplateResponse(request, "softphone.html", context)
