"""No double booking under concurrency: threads and processes race for one slot, on both databases."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa

from practice.calendar import SqlCalendar
from practice.db import make_engine, migrate
from practice.errors import CalendarBusy, SlotTaken
from practice.models import Appointment
from tests.factories import MONDAY, NOW, make_clinic, make_patient

pytestmark = pytest.mark.integration

THREADS = 8


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return datetime.combine(MONDAY + timedelta(days=days), datetime.min.time()).replace(hour=hour, minute=minute)


def _patients(engine, count: int) -> list[int]:
    return [make_patient(engine, last_name=f"Patient{i}", phone=f"06000000{i:02d}") for i in range(count)]


def _race(cal: SqlCalendar, practice_id: int, attempts: list[dict]) -> list[object]:
    """Run every booking at the same instant; each result is an AppointmentInfo or the exception raised."""
    barrier = threading.Barrier(len(attempts))

    def attempt(kwargs: dict) -> object:
        barrier.wait()
        try:
            return cal.book(practice_id, now=NOW, **kwargs)
        except SlotTaken as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(attempt, attempts))


def _active(engine, practitioner_id: int) -> list[tuple[datetime, datetime]]:
    c = Appointment.__table__.c  # type: ignore[attr-defined]
    query = (
        sa.select(c.starts_at, c.ends_at)
        .where(c.practitioner_id == practitioner_id, c.status != "cancelled")
        .order_by(c.starts_at)
    )
    with engine.connect() as conn:
        return [(row.starts_at, row.ends_at) for row in conn.execute(query)]


def _assert_no_overlap(intervals: list[tuple[datetime, datetime]]) -> None:
    for (_, end), (next_start, _) in pairwise(intervals):
        assert end <= next_start, f"overlapping appointments: {intervals}"


def _outcome(results: list[object]) -> tuple[int, int]:
    wins = sum(1 for r in results if not isinstance(r, BaseException))
    taken = sum(1 for r in results if isinstance(r, SlotTaken))
    return wins, taken


@pytest.mark.parametrize("round_", range(3))
def test_threads_race_for_the_same_slot(engine, round_):
    clinic = make_clinic(engine)
    patients = _patients(engine, THREADS)
    paul = clinic.practitioners["paul_martin"]
    slot = at(9, 20 * round_)
    attempts = [{"practitioner_id": paul, "patient_id": p, "starts_at": slot} for p in patients]
    results = _race(SqlCalendar(engine), clinic.practice_id, attempts)
    assert _outcome(results) == (1, THREADS - 1)
    assert _active(engine, paul) == [(slot, slot + timedelta(minutes=20))]


def test_threads_race_for_overlapping_slots_of_different_durations(engine):
    clinic = make_clinic(engine)
    patients = _patients(engine, THREADS)
    claire = clinic.practitioners["claire_martin"]
    long_visit = clinic.kinds["claire_martin:Première consultation"]
    # Every request covers 9:30-9:50: [9:10, 9:50), [9:30, 9:50), [9:30, 10:10) in turn.
    shapes = [(at(9, 10), long_visit), (at(9, 30), None), (at(9, 30), long_visit)]
    attempts = [
        {
            "practitioner_id": claire,
            "patient_id": p,
            "starts_at": shapes[i % 3][0],
            "consultation_type_id": shapes[i % 3][1],
        }
        for i, p in enumerate(patients)
    ]
    results = _race(SqlCalendar(engine), clinic.practice_id, attempts)
    assert _outcome(results) == (1, THREADS - 1)
    active = _active(engine, claire)
    assert len(active) == 1
    _assert_no_overlap(active)


def test_threads_race_over_a_busy_morning(engine):
    """Many patients, many overlapping requests: whatever wins, the agenda never overlaps."""
    clinic = make_clinic(engine)
    patients = _patients(engine, 12)
    claire = clinic.practitioners["claire_martin"]
    long_visit = clinic.kinds["claire_martin:Première consultation"]
    starts = [at(8, 30), at(8, 50), at(9, 10), at(9, 30)]
    attempts = [
        {
            "practitioner_id": claire,
            "patient_id": p,
            "starts_at": starts[i % 4],
            "consultation_type_id": long_visit if i % 2 else None,
        }
        for i, p in enumerate(patients)
    ]
    results = _race(SqlCalendar(engine), clinic.practice_id, attempts)
    wins, taken = _outcome(results)
    assert wins >= 2 and wins + taken == len(attempts)
    active = _active(engine, claire)
    assert len(active) == wins
    _assert_no_overlap(active)


def _book_in_process(url: str, practice_id: int, practitioner_id: int, patient_id: int, start_at: float) -> str:
    engine = make_engine(url)
    try:
        cal = SqlCalendar(engine)
        time.sleep(max(0.0, start_at - time.time()))
        try:
            cal.book(practice_id, practitioner_id=practitioner_id, patient_id=patient_id, starts_at=at(11), now=NOW)
            return "booked"
        except SlotTaken:
            return "taken"
    finally:
        engine.dispose()


def test_processes_race_for_the_same_slot(engine):
    clinic = make_clinic(engine)
    patients = _patients(engine, 4)
    paul = clinic.practitioners["paul_martin"]
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(patients), mp_context=context) as pool:
        start_at = time.time() + 4.0  # every worker has imported and connected by then
        futures = [pool.submit(_book_in_process, url, clinic.practice_id, paul, p, start_at) for p in patients]
        outcomes = sorted(f.result(timeout=60) for f in futures)
    assert outcomes == ["booked", "taken", "taken", "taken"]
    assert _active(engine, paul) == [(at(11), at(11, 20))]


def test_a_write_lock_held_too_long_is_calendar_busy(tmp_path):
    path = tmp_path / "busy.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    clinic = make_clinic(engine)
    alice = make_patient(engine)
    engine.dispose()
    sa.event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=100"))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CalendarBusy) as caught:
            SqlCalendar(engine).book(
                clinic.practice_id,
                practitioner_id=clinic.practitioners["paul_martin"],
                patient_id=alice,
                starts_at=at(9),
                now=NOW,
            )
        assert caught.value.code == "calendar_busy"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        engine.dispose()
