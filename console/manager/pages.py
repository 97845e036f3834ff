"""The manager's pages (server-rendered, French or English): thresholds editor, reports with charts, a call's
transcript."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from console.auth import CSRF_FIELD, ConsoleUser, OptionalUser, read_session
from console.deps import EngineDep, SessionDep
from console.i18n import N_, language_of, tr
from console.manager import charts
from console.manager.common import MANAGER_ROLES, call_in_scope
from console.manager.reports import LEVELS_FR, OUTCOMES_FR, TABLE_NAMES, TOTAL_KEY, Reports
from console.manager.reports_api import scoped_reports
from console.manager.thresholds_api import threshold_store, thresholds_view
from console.pages import templates
from practice.models import AuditLog, CallReview, Practice, Ticket, Turn, utc_now

router = APIRouter(include_in_schema=False)
SPEAKERS_FR = {"caller": N_("Appelant"), "agent": N_("Agent"), "secretary": N_("Secrétaire")}
ACTIONS_FR = {"advise_15": N_("Orienter vers le 15"), "handoff": N_("Transfert à une secrétaire"),
              "callback": N_("Rappel"), "self_service": N_("Traité par l'agent")}
AUDIT_FR = {"threshold.create_draft": N_("Brouillon créé"), "threshold.update_draft": N_("Brouillon modifié"),
            "threshold.activate": N_("Version activée"), "threshold.rollback": N_("Retour arrière")}
STATUS_FR = {"draft": N_("Brouillon"), "active": N_("En vigueur"), "archived": N_("Archivée")}
# How dates are written: French day/month/year, English the unambiguous ISO order.
DATE_FORMATS = {"fr": {"date": "%d/%m/%Y", "datetime": "%d/%m/%Y %H:%M", "seconds": "%d/%m/%Y %H:%M:%S"},
                "en": {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M", "seconds": "%Y-%m-%d %H:%M:%S"}}


def translated(labels: dict[str, str], language: str) -> dict[str, str]:
    """A code → label mapping with its labels in `language`."""
    return {code: tr(language, label) for code, label in labels.items()}


def _gate(request: Request, user: ConsoleUser | None) -> Response | None:
    """Login first (back here afterwards); only managers and admins."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    if user.role not in MANAGER_ROLES:
        return HTMLResponse(tr(language_of(request), N_("Accès réservé aux responsables.")), status_code=403)
    return None


def _practice_arg(raw: str, user: ConsoleUser) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise HTTPException(404, detail=N_("Cabinet introuvable.")) from exc
    if not user.serves(value):
        raise HTTPException(404, detail=N_("Cabinet introuvable."))
    return value


def _practices(session: Session, user: ConsoleUser) -> list[Practice]:
    if not user.practice_ids:
        return []
    return list(session.exec(select(Practice).where(col(Practice.id).in_(user.practice_ids)).order_by(Practice.name)))


def _base(request: Request, user: ConsoleUser, page: str) -> dict[str, Any]:
    data = read_session(request)
    language = language_of(request)
    return {"user": user, "csrf": data.csrf if data else "", "csrf_field": CSRF_FIELD, "page": page,
            "formats": DATE_FORMATS.get(language, DATE_FORMATS["fr"])}


@router.get("/manager")
def manager_home() -> Response:
    return RedirectResponse("/manager/thresholds", status_code=303)


@router.get("/manager/thresholds", response_class=HTMLResponse)
def thresholds_page(request: Request, user: OptionalUser, session: SessionDep, engine: EngineDep,
                    practice_id: str = "") -> Response:
    if (gate := _gate(request, user)) is not None:
        return gate
    assert user is not None
    selected = _practice_arg(practice_id, user)
    language = language_of(request)
    view = thresholds_view(session, threshold_store(engine), selected, language)
    values = view.draft.values if view.draft else view.effective_values
    today = date.today()
    context = {**_base(request, user, "thresholds"), "view": view, "values": _flat(values),
               "in_force": _flat(view.effective_values), "practices": _practices(session, user),
               "selected": selected, "status_fr": translated(STATUS_FR, language),
               "audit_fr": translated(AUDIT_FR, language), "date_from": (today - timedelta(days=29)).isoformat(),
               "date_to": today.isoformat()}
    return templates.TemplateResponse(request, "manager/thresholds.html", context)


@router.get("/manager/reports", response_class=HTMLResponse)
def reports_page(request: Request, user: OptionalUser, session: SessionDep, engine: EngineDep,
                 practice_id: str = "", date_from: date | None = None, date_to: date | None = None) -> Response:
    if (gate := _gate(request, user)) is not None:
        return gate
    assert user is not None
    selected = _practice_arg(practice_id, user)
    scope, reports = scoped_reports(request, session, engine, user, selected, date_from, date_to)
    query = f"practice_id={selected or ''}&date_from={scope.span.first}&date_to={scope.span.last}"
    context = {**_base(request, user, "reports"), "reports": reports, "charts": _charts(reports, language_of(request)),
               "practices": _practices(session, user), "selected": selected, "span": scope.span,
               "csv_query": query, "table_names": TABLE_NAMES}
    return templates.TemplateResponse(request, "manager/reports.html", context)


@router.get("/manager/calls/{call_id}", response_class=HTMLResponse)
def call_page(call_id: str, request: Request, user: OptionalUser, session: SessionDep) -> Response:
    """A recorded call, read-only: its turns with the triage level of each caller turn (the view is audited)."""
    if (gate := _gate(request, user)) is not None:
        return gate
    assert user is not None
    call = call_in_scope(session, user, call_id)
    if call is None:
        return HTMLResponse(tr(language_of(request), N_("Appel introuvable.")), status_code=404)
    turns = list(session.exec(select(Turn).where(Turn.call_id == call_id).order_by(col(Turn.seq))))
    ticket = session.get(Ticket, call_id)
    practice = session.get(Practice, call.practice_id) if call.practice_id else None
    session.add(AuditLog(actor_user_id=user.id, actor=user.username, practice_id=call.practice_id, action="view",
                         entity="call", entity_id=call_id, at=utc_now()))
    session.commit()
    language = language_of(request)
    zone = ZoneInfo(practice.timezone) if practice else request.app.state.settings.tz
    review = session.get(CallReview, call_id)
    context = {**_base(request, user, "call"), "call": call, "turns": turns, "ticket": ticket, "practice": practice,
               "started_local": _utc(call.started_at).astimezone(zone), "review": review,
               "reviewed_local": _utc(review.reviewed_at).astimezone(zone) if review else None,
               "speakers": translated(SPEAKERS_FR, language), "levels": translated(LEVELS_FR, language),
               "actions": translated(ACTIONS_FR, language), "outcomes": translated(OUTCOMES_FR, language),
               "reason": tr(language, ticket.reason) if ticket and ticket.reason else ""}
    return templates.TemplateResponse(request, "manager/call.html", context)


def _utc(moment: datetime) -> datetime:
    """An event timestamp as aware UTC (SQLite hands them back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _charts(reports: Reports, language: str) -> dict[str, Any]:
    """The reports' charts; `reports` already in `language` (labels are shown as they come)."""
    escalations: dict[str, int] = {}
    for level, _, n, _ in reports.tables["escalations"].rows:
        escalations[level] = escalations.get(level, 0) + n
    reasons = sorted(((f"{r[1]} ({r[0].lower()})", r[2]) for r in reports.tables["escalations"].rows),
                     key=lambda kv: -kv[1])[:12]
    waits = [(f"{r[0]} — {name}", r[i] or 0) for r in reports.tables["waits"].rows for name, i in (("p50", 3),
                                                                                                    ("p95", 4))]
    appointments = reports.tables["appointments"]
    people = [(r[0], r[1], r[2]) for k, r in zip(appointments.keys, appointments.rows, strict=True) if k != TOTAL_KEY]

    def title(text: str) -> str:
        return tr(language, text)

    return {
        "heatmap": charts.heatmap("chart-heatmap", reports.heatmap, title(N_("Appels par heure et jour de la semaine")),
                                  language=language),
        "daily": charts.line("chart-daily", reports.daily, title(N_("Appels par jour")), language=language),
        "levels": charts.bars("chart-levels", list(escalations.items()),
                              title(N_("Passages à une secrétaire par niveau")), language=language),
        "reasons": charts.bars("chart-reasons", reasons, title(N_("Principaux motifs de passage à une secrétaire")),
                               language=language),
        "waits": charts.bars("chart-waits", waits, title(N_("Attente avant prise en charge")), " s",
                             language=language),
        "appointments": charts.stacked("chart-appointments", people, title(N_("Rendez-vous pris par praticien")),
                                       (title(N_("Agent")), title(N_("Secrétariat"))), language=language),
    }
