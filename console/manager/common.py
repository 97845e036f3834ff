"""Shared pieces of the manager's console: who may enter, the period and practice filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import HTTPException
from pydantic import Field
from sqlmodel import Session

from console.auth import ConsoleUser, require_role
from console.i18n import N_
from practice.models import Call, Role

MANAGER_ROLES = (Role.manager, Role.admin)
Manager = Annotated[ConsoleUser, require_role(*MANAGER_ROLES)]
DEFAULT_DAYS = 30
MAX_DAYS = 731
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
MAX_ID = 2_147_483_647
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


@dataclass(frozen=True)
class Period:
    """Local calendar days [first, last] of the practice's time zone, and their UTC bounds."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.first, time(0), self.tz).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """Exclusive end: midnight after the last day."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.tz).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period(first: date | None, last: date | None, tz: ZoneInfo, *, today: date | None = None) -> Period:
    """The asked period (default: the last 30 days up to today); 422 when reversed or longer than two years."""
    today = today or datetime.now(tz).date()
    last = last or (today if first is None else min(today, first + timedelta(days=DEFAULT_DAYS - 1)))
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
        raise HTTPException(status_code=422, detail=N_("Les dates doivent être comprises entre 2000 et 2099."))
    if first > last:
        raise HTTPException(status_code=422, detail=N_("La date de début doit précéder la date de fin."))
    if (last - first).days + 1 > MAX_DAYS:
        raise HTTPException(status_code=422, detail=N_("La période ne peut pas dépasser deux ans."))
    return Period(first, last, tz)


def practices_in_scope(user: ConsoleUser, practice_id: int | None) -> tuple[int, ...]:
    """One practice (if the user may see it: else 404) or every practice the user sees."""
    if practice_id is None:
        return user.practice_ids
    if not user.serves(practice_id):
        raise HTTPException(status_code=404, detail=N_("Cabinet introuvable."))
    return (practice_id,)



def call_in_scope(session: Session, user: ConsoleUser, call_id: str) -> Call | None:
    """The call when it exists and belongs to a practice the user sees (else None: answered as unknown)."""
    call = session.get(Call, call_id)
    return call if call is not None and user.serves(call.practice_id) else None
