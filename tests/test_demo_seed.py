"""The demo group practice: what a newcomer gets, seeded idempotently on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from practice.demo import DEMO_PASSWORD, seed_demo
from practice.models import Appointment, AvailabilityRule, OpeningHours, Practitioner, User, UserPractice
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
