"""The demo group practice: what a newcomer gets, seeded idempotently on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from console.manager.common import Period
from console.manager.reports import build_reports
from console.manager.reports_sql import Scope
from console.manager.whatif import Assessor, compare, recorded_samples
from escalation.thresholds import Thresholds
from practice.db import make_engine, migrate
from practice.demo import DEMO_PASSWORD, seed_demo
from practice.demo_history import HISTORY_DAYS
from practice.models import (
    Appointment,
    AvailabilityRule,
    Call,
    OpeningHours,
    Practitioner,
    Ticket,
    User,
    UserPractice,
)
from practice.passwords import verify_password

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 24)


def _count(session: Session, model: type) -> int:
    return session.exec(select(sa.func.count()).select_from(model)).one()


def test_seed_creates_a_realistic_group_practice(engine: Engine):
    summary = seed_demo(engine, today=TODAY)
    with Session(engine) as session:
        practitioners = list(session.exec(select(Practitioner)))
        professions = [p.profession for p in practitioners]
        assert professions.count("médecin généraliste") >= 2
        for needed in ("pédiatre", "masseur-kinésithérapeute", "infirmière", "sage-femme"):
            assert needed in professions
        hours = list(session.exec(select(OpeningHours).where(OpeningHours.practice_id == summary.practice_id)))
        assert {h.weekday for h in hours} == {0, 1, 2, 3, 4, 5}
        monday = sorted((h.opens, h.closes) for h in hours if h.weekday == 0)
        assert monday[0][1] < monday[1][0], "a lunch break separates the two Monday windows"
        assert [h.closes for h in hours if h.weekday == 5] == [time(12, 0)]
        assert _count(session, AvailabilityRule) > 0


def test_seed_books_part_of_three_weeks_and_is_idempotent(engine: Engine):
    first = seed_demo(engine, today=TODAY)
    second = seed_demo(engine, today=TODAY)
    assert first.appointments_created > 100
    assert second.appointments_created == 0
    with Session(engine) as session:
        starts = list(session.exec(select(Appointment.starts_at)))
        assert len(starts) == first.appointments_created
        assert min(starts) > datetime.combine(TODAY, time.max)
        assert (max(starts).date() - TODAY).days <= 21
        assert _count(session, User) == 3


def test_seed_creates_demo_users_with_hashed_passwords_and_practices(engine: Engine):
    seed_demo(engine, today=TODAY)
    with Session(engine) as session:
        users = {u.username: u for u in session.exec(select(User))}
        assert {u.role for u in users.values()} == {"secretary", "manager", "admin"}
        for user in users.values():
            assert DEMO_PASSWORD not in user.password_hash
            assert verify_password(user.password_hash, DEMO_PASSWORD)
            assert not verify_password(user.password_hash, "wrong")
        assert _count(session, UserPractice) == 3


def test_seed_next_week_tops_up_only_the_new_days(engine: Engine):
    seed_demo(engine, today=TODAY)
    later = seed_demo(engine, today=date(2026, 12, 1))
    assert 0 < later.appointments_created < 400


# --- the recent call history (`permanence demo`) ---------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")
MIDNIGHT = datetime.combine(TODAY, time(0), PARIS).astimezone(UTC)


def _history(engine: Engine, today: date = TODAY) -> tuple[list[tuple[str, int | None, datetime]], list[Appointment]]:
    """The calls, and the visits before `today` (by practitioner and start)."""
    with Session(engine) as session:
        calls = [(c.id, c.practice_id, _utc(c.started_at)) for c in session.exec(select(Call).order_by(col(Call.id)))]
        past = col(Appointment.starts_at) < datetime.combine(today, time(0))
        order = (col(Appointment.practitioner_id), col(Appointment.starts_at))
        booked = list(session.exec(select(Appointment).where(past).order_by(*order)))
    return calls, booked


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_history_is_seeded_once_in_the_past_on_the_demo_calendar(engine: Engine):
    first = seed_demo(engine, today=TODAY, history=True)
    second = seed_demo(engine, today=TODAY, history=True)
    assert 2500 < first.calls_created < 8000, "about 90 calls an ordinary weekday over eight weeks"
    assert second.calls_created == 0 and second.appointments_created == 0
    calls, booked = _history(engine)
    assert len(calls) == first.calls_created
    assert {practice for _, practice, _ in calls} == {first.practice_id}
    started = [at for _, _, at in calls]
    assert MIDNIGHT - timedelta(days=HISTORY_DAYS + 1) < min(started) and max(started) < MIDNIGHT
    assert len(booked) > 1000 and {a.practice_id for a in booked} == {first.practice_id}
    assert all(_utc(a.created_at) < MIDNIGHT and a.starts_at >= _utc(a.created_at).astimezone(PARIS).replace(
        tzinfo=None) for a in booked), "booked before the visit, before today"
    _assert_on_the_calendar(engine, booked)
    _assert_no_callback_left_open_for_weeks(engine)


def _assert_no_callback_left_open_for_weeks(engine: Engine) -> None:
    """The secretary's to-do list holds the callbacks still due, not forgotten ones from weeks ago."""
    with Session(engine) as session:
        open_due = [_utc(t.callback_due) for t in session.exec(select(Ticket).where(col(Ticket.status) == "callback"))
                    if t.callback_due is not None]
        made = session.exec(select(sa.func.count()).select_from(Ticket)
                            .where(col(Ticket.disposition) == "callback_done")).one()
    assert made > 50
    assert all(due > MIDNIGHT - timedelta(days=3) for due in open_due), sorted(open_due)[:3]


def _assert_on_the_calendar(engine: Engine, booked: list[Appointment]) -> None:
    """On a practitioner's weekly grid, never on a public holiday, never overlapping."""
    with Session(engine) as session:
        rules = {(r.practitioner_id, r.weekday, r.starts, r.ends, r.slot_minutes)
                 for r in session.exec(select(AvailabilityRule))}
    closed = holidays.country_holidays("FR", years=TODAY.year)
    for appointment in booked:
        start, end = appointment.starts_at, appointment.ends_at
        assert start.date() not in closed
        assert any(p == appointment.practitioner_id and d == start.weekday() and s <= start.time() and end.time() <= e
                   and (start - datetime.combine(start.date(), s)).seconds // 60 % step == 0
                   for p, d, s, e, step in rules), f"{start} is off the practitioner's grid"
    for one, two in pairwise(booked):
        if one.practitioner_id == two.practitioner_id:
            assert one.ends_at <= two.starts_at, "no overlapping visits"


def test_an_older_demo_gets_its_history_once_and_later_days_are_topped_up(engine: Engine):
    old = seed_demo(engine, today=TODAY)
    assert old.calls_created == 0
    upgraded = seed_demo(engine, today=TODAY, history=True)
    assert upgraded.calls_created > 2500 and upgraded.appointments_created == 0
    assert seed_demo(engine, today=TODAY, history=True).calls_created == 0
    week_later = seed_demo(engine, today=TODAY + timedelta(days=7), history=True)
    assert 200 < week_later.calls_created < 1200, "only the seven new days"
    calls, booked = _history(engine, TODAY + timedelta(days=7))
    assert len(calls) == upgraded.calls_created + week_later.calls_created
    _assert_on_the_calendar(engine, booked)  # the new days' visits fit around those booked a week ago


def test_history_is_deterministic_with_the_seed(engine: Engine, tmp_path: Path):
    seed_demo(engine, today=TODAY, history=True)
    other = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    migrate(other)
    seed_demo(other, today=TODAY, history=True)
    ours, theirs = _history(engine), _history(other)
    other.dispose()
    assert [c[0] for c in ours[0]] == [c[0] for c in theirs[0]]
    assert [(a.practitioner_id, a.starts_at, a.call_id) for a in ours[1]] == \
        [(a.practitioner_id, a.starts_at, a.call_id) for a in theirs[1]]


def test_reports_and_whatif_of_the_last_four_weeks_have_figures(engine: Engine):
    summary = seed_demo(engine, today=TODAY, history=True)
    span = Period(TODAY - timedelta(days=28), TODAY - timedelta(days=1), PARIS)
    reports = build_reports(engine, Scope((summary.practice_id,), span), now=MIDNIGHT)
    assert 1200 < reports.total_calls < 4000 and 0 < reports.contained < reports.total_calls
    assert sum(reports.heatmap[0]) > 5 * max(1, sum(reports.heatmap[6])), "Monday rush, quiet Sunday"
    for name in ("outcomes", "escalations", "waits", "abandoned", "callbacks", "appointments"):
        assert reports.tables[name].rows, f"the {name} table is empty"
    samples = list(recorded_samples(engine, [summary.practice_id], span))
    assert len(samples) > 2000 and any(s.label == "emergency" for s in samples)
    fevers = [s for s in samples if "fièvre" in s.text]
    section = compare(fevers, Thresholds(), Thresholds(high_fever_celsius=40.0), Assessor(workers=1))
    assert section.changed_total > 0, "a higher fever threshold changes some recorded outcomes"
