"""What the agent says about a practice: contact details, opening hours, holidays and after-hours orientation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent.tools.speech import clock, say, spoken_list, spoken_moment, weekday_name
from practice.models import OpeningHours, Practice, PracticeClosure

Window = tuple[time, time]


@dataclass(frozen=True)
class OpenStatus:
    """Whether the practice is open at a moment; if not, why (holiday name) and when it reopens."""

    open: bool
    holiday: str | None = None
    reopens: datetime | None = None


@dataclass(frozen=True)
class PracticeProfile:
    """A practice as the reception agent speaks of it (loaded once per call)."""

    id: int
    name: str
    address: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    access_info: str = ""
    what_to_bring: str = ""
    recording: bool = False
    timezone: str = "Europe/Paris"
    holiday_country: str = "FR"
    holiday_subdivision: str | None = None
    after_hours: dict[str, Any] = field(default_factory=dict)
    opening: dict[int, tuple[Window, ...]] = field(default_factory=dict)
    closures: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        """`moment` on the practice's wall clock, naive (as the calendar stores times)."""
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def holiday_name(self, day: date) -> str | None:
        if day in self.closures:
            return "fermeture"
        return _holidays(self.holiday_country, self.holiday_subdivision, day.year).get(day)

    def status(self, now: datetime) -> OpenStatus:
        """Open now, or closed (and why) with the next opening time within two weeks."""
        local = self.local(now)
        holiday = self.holiday_name(local.date())
        if holiday is None and any(o <= local.time() < c for o, c in self.opening.get(local.weekday(), ())):
            return OpenStatus(True)
        return OpenStatus(False, holiday, self._next_opening(local))

    def _next_opening(self, local: datetime) -> datetime | None:
        for offset in range(15):
            day = local.date() + timedelta(days=offset)
            if self.holiday_name(day) is not None:
                continue
            for opens, _ in sorted(self.opening.get(day.weekday(), ())):
                start = datetime.combine(day, opens)
                if start > local:
                    return start
        return None


@lru_cache(maxsize=32)
def _holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    return dict(holidays.country_holidays(country, subdiv=subdivision, years=[year], language="fr").items())


def load_profile(engine: Engine, practice_id: int) -> PracticeProfile:
    """Read the practice, its opening hours and closures."""
    with Session(engine) as session:
        row = session.get(Practice, practice_id)
        if row is None or row.id is None:
            raise LookupError("unknown practice")
        hours = session.exec(select(OpeningHours).where(OpeningHours.practice_id == practice_id)).all()
        rows = session.exec(select(PracticeClosure).where(PracticeClosure.practice_id == practice_id))
        closed = [c.day for c in rows]
    opening: dict[int, list[Window]] = defaultdict(list)
    for h in hours:
        opening[h.weekday].append((h.opens, h.closes))
    return PracticeProfile(
        id=row.id, name=row.name, address=row.address, postcode=row.postcode, city=row.city, phone=row.phone,
        access_info=row.access_info, what_to_bring=row.what_to_bring, recording=row.recording_enabled,
        timezone=row.timezone, holiday_country=row.holiday_country, holiday_subdivision=row.holiday_subdivision,
        after_hours=dict(row.after_hours_policy or {}),
        opening={d: tuple(sorted(w)) for d, w in opening.items()}, closures=frozenset(closed),
    )


# --- sentences ---------------------------------------------------------------------------------------


def hours_text(profile: PracticeProfile, lang: str) -> str:
    """"du lundi au vendredi de 8 h à 12 h 30 et de 14 h à 19 h ; le samedi de 8 h 30 à 12 h"."""
    groups: list[tuple[list[int], tuple[Window, ...]]] = []
    for day in range(7):
        windows = profile.opening.get(day, ())
        if not windows:
            continue
        if groups and groups[-1][1] == windows and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], windows))
    parts = [say("hours_days", lang, days=_days(days, lang), ranges=_ranges(windows, lang)) for days, windows in groups]
    return f"{say('hours_sep', lang)} ".join(parts)


def _days(days: list[int], lang: str) -> str:
    if len(days) == 1:
        return say("hours_single", lang, day=weekday_name(days[0], lang))
    return say("hours_span", lang, first=weekday_name(days[0], lang), last=weekday_name(days[-1], lang))


def _ranges(windows: tuple[Window, ...], lang: str) -> str:
    spans = [say("hours_range", lang, opens=clock(o, lang), closes=clock(c, lang)) for o, c in windows]
    return f" {say('hours_and', lang)} ".join(spans)


def after_hours_text(profile: PracticeProfile, status: OpenStatus, lang: str) -> str:
    """The practice is closed: when it reopens, and whom to call meanwhile (15, 116 117, SOS, garde)."""
    holiday = f" {say('after_hours_holiday', lang, name=status.holiday)}" if status.holiday else ""
    reopens = spoken_moment(status.reopens, lang) if status.reopens else "?"
    options = []
    if profile.after_hours.get("sos_medecins"):
        options.append(say("after_hours_sos", lang, number=profile.after_hours["sos_medecins"]))
    if profile.after_hours.get("maison_medicale_de_garde"):
        options.append(say("after_hours_mmg", lang, name=profile.after_hours["maison_medicale_de_garde"]))
    extra = f", {say('after_hours_or', lang, options=spoken_list(options, lang))}" if options else ""
    return say("after_hours", lang, holiday=holiday, reopens=reopens, extra=extra)
