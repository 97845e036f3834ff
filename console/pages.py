"""Server-rendered console pages: the home page with the practices and their teams, the language switch."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import select

from console.deps import SessionDep
from console.i18n import LANGUAGE_COOKIE, LANGUAGES, N_, install_template_functions, language_of, safe_next, tr
from practice.models import OpeningHours, Practice, Practitioner

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
install_template_functions(templates.env)
LANGUAGE_COOKIE_MAX_AGE_S = 400 * 24 * 3600

WEEKDAYS_FR = (N_("lundi"), N_("mardi"), N_("mercredi"), N_("jeudi"), N_("vendredi"), N_("samedi"), N_("dimanche"))


def _opening_lines(session: SessionDep, practice_id: int, language: str) -> list[str]:
    rows = session.exec(
        select(OpeningHours)
        .where(OpeningHours.practice_id == practice_id)
        .order_by(OpeningHours.weekday, OpeningHours.opens)  # type: ignore[arg-type]
    )
    by_day: dict[int, list[str]] = {}
    for row in rows:
        by_day.setdefault(row.weekday, []).append(f"{row.opens:%H:%M}–{row.closes:%H:%M}")
    return [tr(language, "{day} : {spans}", day=tr(language, WEEKDAYS_FR[day]).capitalize(), spans=", ".join(spans))
            for day, spans in sorted(by_day.items())]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    practices = list(session.exec(select(Practice).order_by(Practice.name)))
    cards = [
        {
            "practice": p,
            "hours": _opening_lines(session, p.id or 0, language_of(request)),
            "team": list(session.exec(select(Practitioner).where(Practitioner.practice_id == p.id)
                                      .order_by(Practitioner.last_name))),
        }
        for p in practices
    ]
    demo = bool(request.app.state.settings.demo_mode)
    return templates.TemplateResponse(request, "home.html", {"cards": cards, "demo": demo})


@router.get("/language/{code}")
def choose_language(request: Request, code: str, next: str = "/") -> RedirectResponse:
    """Remember the interface language in a cookie, then go back to the page the person was on."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code not in LANGUAGES:
        return response
    secure = request.url.scheme == "https"
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=LANGUAGE_COOKIE_MAX_AGE_S, httponly=False, samesite="lax",
                        secure=secure)
    return response
