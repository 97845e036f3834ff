"""Server-rendered console pages (French): the home page with the practices and their teams."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import select

from console.deps import SessionDep
from practice.models import OpeningHours, Practice, Practitioner

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def _opening_lines(session: SessionDep, practice_id: int) -> list[str]:
    rows = session.exec(
        select(OpeningHours)
        .where(OpeningHours.practice_id == practice_id)
        .order_by(OpeningHours.weekday, OpeningHours.opens)  # type: ignore[arg-type]
    )
    by_day: dict[int, list[str]] = {}
    for row in rows:
        by_day.setdefault(row.weekday, []).append(f"{row.opens:%H:%M}–{row.closes:%H:%M}")
    return [f"{WEEKDAYS_FR[day].capitalize()} : {', '.join(spans)}" for day, spans in sorted(by_day.items())]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    practices = list(session.exec(select(Practice).order_by(Practice.name)))
    cards = [
        {
            "practice": p,
            "hours": _opening_lines(session, p.id or 0),
            "team": list(session.exec(select(Practitioner).where(Practitioner.practice_id == p.id)
                                      .order_by(Practitioner.last_name))),
        }
        for p in practices
    ]
    demo = bool(request.app.state.settings.demo_mode)
    return templates.TemplateResponse(request, "home.html", {"cards": cards, "demo": demo})
