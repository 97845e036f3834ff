"""The manager's reports API: every report as JSON, and each table as CSV (period and practice filters), with
titles, headers and labels in the reader's language (cookie `permanence_lang`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from console.auth import ConsoleUser
from console.deps import EngineDep, SessionDep
from console.i18n import N_, language_of
from console.manager.common import DbId, Manager, Period, period, practices_in_scope
from console.manager.reports import TABLE_NAMES, Reports, build_reports
from console.manager.reports_sql import Scope
from practice.models import Practice


class DayCount(BaseModel):
    day: date
    calls: int


class ReportTable(BaseModel):
    title: str
    headers: list[str]
    rows: list[list[Any]]


class ReportsOut(BaseModel):
    """Every report of a scope; rates are 0–1 (None without data), waits in seconds."""

    practice_ids: list[int]
    from_: date = Field(alias="from")
    to: date
    total_calls: int
    contained: int = Field(description="Calls with no human involved (no ticket, not escalated)")
    containment: float | None
    heatmap: list[list[int]] = Field(description="Calls per [weekday 0=Monday][local hour]")
    daily: list[DayCount]
    tables: dict[str, ReportTable] = Field(description="Each table also exists as CSV: " + ", ".join(TABLE_NAMES))


router = APIRouter(prefix="/api/manager/reports", tags=["manager: reports"])
PracticeQuery = Annotated[DbId | None, Query(description="One practice; none: every practice the user sees")]
FromQuery = Annotated[date | None, Query(description="First local day (default: 30 days ago)")]
ToQuery = Annotated[date | None, Query(description="Last local day, included (default: today)")]
ERRORS: dict[int | str, dict[str, Any]] = {401: {"description": "Not logged in"},
                                           403: {"description": "Not a manager or admin"},
                                           404: {"description": "Unknown practice or table"},
                                           422: {"description": "Bad period"}}


def report_scope(request: Request, session: Session, user: ConsoleUser, practice_id: int | None,
                 date_from: date | None, date_to: date | None) -> Scope:
    ids = practices_in_scope(user, practice_id)
    practice = session.get(Practice, practice_id) if practice_id is not None else None
    tz = ZoneInfo(practice.timezone) if practice else request.app.state.settings.tz
    span: Period = period(date_from, date_to, tz)
    return Scope(ids, span)


def scoped_reports(request: Request, session: Session, engine: Any, user: ConsoleUser, practice_id: int | None,
                   date_from: date | None, date_to: date | None,
                   only: tuple[str, ...] = TABLE_NAMES) -> tuple[Scope, Reports]:
    """The scope's reports, their tables in the reader's language (row keys unchanged)."""
    scope = report_scope(request, session, user, practice_id, date_from, date_to)
    return scope, build_reports(engine, scope, only=only).localised(language_of(request))


@router.get("", response_model=ReportsOut, responses=ERRORS,
            summary="Every report for a period and practice (volume heatmap [weekday][hour] in local time, "
            "containment, escalations, waits p50/p95, abandoned, callbacks, appointments)")
def get_reports(user: Manager, session: SessionDep, engine: EngineDep, request: Request,
                practice_id: PracticeQuery = None, date_from: FromQuery = None,
                date_to: ToQuery = None) -> dict[str, Any]:
    scope, reports = scoped_reports(request, session, engine, user, practice_id, date_from, date_to)
    return {"practice_ids": list(scope.practice_ids), "from": scope.span.first.isoformat(),
            "to": scope.span.last.isoformat(), **reports.to_dict()}


@router.get("/{table}.csv", responses={**ERRORS, 200: {"content": {"text/csv": {}}}},
            response_class=Response,
            summary=f"One report table as CSV (UTF-8; French: `;` and decimal commas, English: `,`): "
            f"{', '.join(TABLE_NAMES)}")
def get_csv(table: str, user: Manager, session: SessionDep, engine: EngineDep, request: Request,
            practice_id: PracticeQuery = None, date_from: FromQuery = None, date_to: ToQuery = None) -> Response:
    if table not in TABLE_NAMES:
        raise HTTPException(404, detail=N_("Tableau inconnu."))
    scope, reports = scoped_reports(request, session, engine, user, practice_id, date_from, date_to, (table,))
    name = f"permanence-{table}-{scope.span.first}-{scope.span.last}.csv"
    return Response("\ufeff" + reports.tables[table].csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
