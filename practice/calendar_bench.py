"""Calendar benchmark: a seeded 50-practitioner group, three months ~40 % booked; search and booking latency."""

from __future__ import annotations

import random
import tempfile
import time as clock
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from math import ceil
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from practice.calendar import SqlCalendar
from practice.calendar_store import holiday_days, table
from practice.calendar_types import PartOfDay, SlotConstraints
from practice.db import make_engine, migrate
from practice.directory import PractitionerRecord
from practice.errors import CalendarError
from practice.models import utc_now
from practice.slots import PracticePlan, PractitionerPlan, RuleWindow, at_minute, grid_starts, minutes

START = date(2031, 3, 3)  # a Monday; the benchmark never depends on today's date
WEEKS = 13
BOOKED_RATIO = 0.4
PATIENTS = 2000
_BATCH = 5000


def _words(text: str) -> list[str]:
    return text.split()


_LAST_NAMES = _words(
    """Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel
    Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine
    Rousseau Vincent Muller Lefevre Faure Andre Mercier Blanc Guerin Boyer Garnier Chevalier
    Francois Legrand Gauthier Garcia Perrin Robin Clement Morin Nicolas Henry Roussel Mathieu
    Gautier Masson"""
)
_FIRST_NAMES = _words("Claire Paul Jean Sophie Marc Julie Anne Pierre Camille Louis Emma Hugo Léa Nathalie Olivier")
_PROFESSIONS = (
    [("Médecin généraliste", "Dr")] * 20
    + [("Pédiatre", "Dr")] * 5
    + [("Masseur-kinésithérapeute", "M.")] * 8
    + [("Sage-femme", "Mme")] * 4
    + [("Infirmière", "Mme")] * 6
    + [("Chirurgien-dentiste", "Dr")] * 3
    + [("Psychologue", "Mme")] * 2
    + [("Orthophoniste", "Mme")] * 2
)
_LAY_PROFESSIONS = ["un pédiatre", "le kiné", "un généraliste", "la sage-femme", "l'infirmière", "un dentiste", "a GP"]
_OPENING = {d: [(time(8, 0), time(12, 30)), (time(13, 30), time(19, 0))] for d in range(5)} | {
    5: [(time(8, 30), time(12, 30))]
}


@dataclass
class BenchPractice:
    """What the generator wrote: ids to search and book with, and how much it wrote."""

    practice_id: int
    tag: str
    records: list[PractitionerRecord] = field(default_factory=list)
    patient_ids: list[int] = field(default_factory=list)
    appointments: int = 0
    slots: int = 0


# --- generator ------------------------------------------------------------------------------------


def _rules(rng: random.Random) -> list[tuple[int, time, time, int]]:
    step = rng.choice((15, 20, 30))
    days = sorted(rng.sample(range(5), rng.choice((4, 5))))
    if rng.random() < 0.3:
        days.append(5)
    morning = (rng.choice((time(8, 0), time(8, 30), time(9, 0))), rng.choice((time(12, 0), time(12, 30))))
    afternoon = (time(14, 0), rng.choice((time(18, 0), time(19, 0))))
    return [(d, start, end, step) for d in days for start, end in ([morning] if d == 5 else [morning, afternoon])]


def _insert(conn: sa.Connection, name: str, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), _BATCH):
        conn.execute(table(name).insert(), rows[i : i + _BATCH])


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _seed_practice(conn: sa.Connection, tag: str) -> int:
    practice = table("practice")
    result = conn.execute(
        practice.insert().values(
            name=f"Bench {tag}",
            slug=f"bench-{tag}",
            timezone="Europe/Paris",
            holiday_country="FR",
            after_hours_policy={},
            created_at=utc_now(),
            address="",
            postcode="",
            city="",
            phone="",
            email="",
            access_info="",
            what_to_bring="",
            recording_enabled=False,
        )
    )
    practice_id = _new_id(result)
    rows = [
        {"practice_id": practice_id, "weekday": d, "opens": o, "closes": c} for d, ws in _OPENING.items() for o, c in ws
    ]
    _insert(conn, "opening_hours", rows)
    return practice_id


def _seed_practitioner(conn: sa.Connection, practice_id: int, index: int, rng: random.Random) -> PractitionerPlan:
    profession, title = _PROFESSIONS[index % len(_PROFESSIONS)]
    first, last = rng.choice(_FIRST_NAMES), _LAST_NAMES[index % len(_LAST_NAMES)]
    values = {
        "practice_id": practice_id,
        "title": title,
        "first_name": first,
        "last_name": last,
        "profession": profession,
        "specialty": "",
        "languages": ["fr"],
        "active": True,
    }
    pid = _new_id(conn.execute(table("practitioner").insert().values(**values)))
    rules = _rules(rng)
    _insert(
        conn,
        "availability_rule",
        [
            {"practitioner_id": pid, "weekday": d, "starts": s, "ends": e, "slot_minutes": step}
            for d, s, e, step in rules
        ],
    )
    step = rules[0][3]
    conn.execute(
        table("consultation_type")
        .insert()
        .values(practitioner_id=pid, name="Consultation", duration_minutes=step, is_default=True)
    )
    plan = PractitionerPlan(PractitionerRecord(pid, title, first, last, profession))
    for d, s, e, st in rules:
        plan.rules.setdefault(d, []).append(RuleWindow(minutes(s), minutes(e), st))
    if rng.random() < 0.2:
        off = START + timedelta(weeks=rng.randrange(2, WEEKS))
        plan.absences.append((datetime.combine(off, time()), datetime.combine(off + timedelta(days=5), time())))
        conn.execute(
            table("availability_exception")
            .insert()
            .values(
                practitioner_id=pid,
                kind="absence",
                starts_at=plan.absences[0][0],
                ends_at=plan.absences[0][1],
                reason="",
            )
        )
    return plan


def _seed_patients(conn: sa.Connection, tag: str) -> list[int]:
    rows = [
        {
            "first_name": "",
            "last_name": f"bench-{tag}-{i}",
            "birth_date": None,
            "phone": f"+3370{i:07d}",
            "created_at": utc_now(),
        }
        for i in range(PATIENTS)
    ]
    _insert(conn, "patient", rows)
    c = table("patient").c
    return list(conn.scalars(sa.select(c.id).where(c.last_name.like(f"bench-{tag}-%")).order_by(c.id)))


def _practice_plan() -> PracticePlan:
    opening = {d: [(minutes(o), minutes(c)) for o, c in ws] for d, ws in _OPENING.items()}
    closed = holiday_days("FR", None, START.year) | holiday_days("FR", None, START.year + 1)
    return PracticePlan(opening, frozenset(closed))


def _appointment_rows(bench: BenchPractice, plans: list[PractitionerPlan], rng: random.Random) -> list[dict[str, Any]]:
    practice_plan, rows = _practice_plan(), []
    for day in (START + timedelta(days=n) for n in range(WEEKS * 7)):
        for plan in plans:
            for start, length in grid_starts(practice_plan, plan, day, None):
                bench.slots += 1
                if rng.random() < BOOKED_RATIO:
                    begins = at_minute(day, start)
                    rows.append(
                        {
                            "practice_id": bench.practice_id,
                            "practitioner_id": plan.record.id,
                            "patient_id": rng.choice(bench.patient_ids),
                            "starts_at": begins,
                            "ends_at": begins + timedelta(minutes=length),
                            "status": "booked",
                            "booked_by": "human",
                            "reason": "",
                            "created_at": utc_now(),
                            "updated_at": utc_now(),
                        }
                    )
    return rows


def seed_bench_practice(engine: Engine, *, seed: int = 7, practitioners: int = 50) -> BenchPractice:
    """Write the synthetic group practice (deterministic for a seed) and return its ids."""
    rng, tag = random.Random(seed), uuid.uuid4().hex[:8]
    with engine.begin() as conn:
        bench = BenchPractice(_seed_practice(conn, tag), tag)
        plans = [_seed_practitioner(conn, bench.practice_id, i, rng) for i in range(practitioners)]
        bench.records = [p.record for p in plans]
        bench.patient_ids = _seed_patients(conn, tag)
        rows = _appointment_rows(bench, plans, rng)
        _insert(conn, "appointment", rows)
        bench.appointments = len(rows)
    return bench


def drop_bench_practice(engine: Engine, bench: BenchPractice) -> None:
    """Remove everything the generator and the bookings wrote (from a SQLite file)."""
    practitioner_ids = [r.id for r in bench.records]
    with engine.connect() as conn:
        # appointment.rescheduled_from_id has no index: checking it row by row would take minutes.
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        _delete_rows(conn, bench, practitioner_ids)
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def _delete_rows(conn: sa.Connection, bench: BenchPractice, practitioner_ids: list[int]) -> None:
    for name, column, value in (
        ("appointment", "practice_id", bench.practice_id),
        ("practitioner", "practice_id", bench.practice_id),
        ("opening_hours", "practice_id", bench.practice_id),
        ("practice", "id", bench.practice_id),
    ):
        conn.execute(table(name).delete().where(table(name).c[column] == value))
    for name in ("availability_rule", "availability_exception", "consultation_type"):
        conn.execute(table(name).delete().where(table(name).c.practitioner_id.in_(practitioner_ids)))
    conn.execute(table("patient").delete().where(table("patient").c.last_name.like(f"bench-{bench.tag}-%")))


# --- measurements ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, ceil(q * len(ordered)) - 1)] if ordered else 0.0


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "count": len(samples),
        "p50_ms": round(percentile(samples, 0.50), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "max_ms": round(max(samples, default=0.0), 2),
    }


def _timed(call: Callable[[], object]) -> float:
    began = clock.perf_counter()
    with suppress(CalendarError):  # an ambiguous or empty search still costs what it costs
        call()
    return (clock.perf_counter() - began) * 1000


def _spoken_name(record: PractitionerRecord, rng: random.Random) -> str:
    name = rng.choice([record.last_name, record.last_name.lower(), f"{record.first_name} {record.last_name}"])
    return rng.choice(["docteur {}", "le docteur {}", "Dr {}", "madame {}", "{}"]).format(name)


def _group_constraints(rng: random.Random) -> SlotConstraints:
    choice = rng.randrange(5)
    if choice == 0:
        return SlotConstraints(part_of_day=PartOfDay.parse(rng.choice(["matin", "après-midi", "soir"])))
    if choice == 1:
        return SlotConstraints(not_before=time(17), excluded_weekdays=frozenset({2}))
    if choice == 2:
        first = START + timedelta(days=rng.randrange(7, 60))
        return SlotConstraints(date_from=first, date_to=first + timedelta(days=6), part_of_day=PartOfDay.morning)
    if choice == 3:
        return SlotConstraints(day=START + timedelta(days=rng.randrange(1, 80)))
    return SlotConstraints()


def _search_calls(
    cal: SqlCalendar, bench: BenchPractice, rng: random.Random, count: int
) -> Iterator[tuple[str, Callable[[], object]]]:
    for i in range(count):
        now = datetime.combine(START + timedelta(days=rng.randrange(0, 30)), time(7, 0))
        kind = ("by_name", "by_profession", "group")[i % 3]
        if kind == "by_name":
            text = _spoken_name(rng.choice(bench.records), rng)
            yield kind, partial(cal.find_slots, bench.practice_id, practitioner=text, now=now)
        elif kind == "by_profession":
            lay = rng.choice(_LAY_PROFESSIONS)
            yield kind, partial(cal.find_slots, bench.practice_id, profession=lay, now=now)
        else:
            wanted = _group_constraints(rng)
            yield kind, partial(cal.find_slots, bench.practice_id, constraints=wanted, now=now)


def _measure_searches(cal: SqlCalendar, bench: BenchPractice, rng: random.Random, count: int) -> dict[str, Any]:
    for _, call in _search_calls(cal, bench, random.Random(0), 9):
        _timed(call)  # warm-up: imports, caches, connection pool
    samples: dict[str, list[float]] = {"by_name": [], "by_profession": [], "group": []}
    for kind, call in _search_calls(cal, bench, rng, count):
        samples[kind].append(_timed(call))
    every = [v for values in samples.values() for v in values]
    return {"search": summary(every)} | {f"search_{k}": summary(v) for k, v in samples.items()}


def _free_slot_requests(cal: SqlCalendar, bench: BenchPractice, rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Free slots found beforehand (not timed), one booking request each."""
    now = datetime.combine(START, time(7, 0))
    requests: list[dict[str, Any]] = []
    while len(requests) < count:
        record = rng.choice(bench.records)
        wanted = SlotConstraints(date_from=START + timedelta(days=rng.randrange(0, WEEKS * 7 - 7)))
        for slot in cal.find_slots(bench.practice_id, practitioner=record.id, constraints=wanted, limit=3, now=now):
            requests.append(
                {
                    "practitioner_id": slot.practitioner_id,
                    "starts_at": slot.starts_at,
                    "patient_id": rng.choice(bench.patient_ids),
                    "now": now,
                }
            )
    return requests[:count]


def _measure_bookings(cal: SqlCalendar, bench: BenchPractice, rng: random.Random, count: int) -> dict[str, Any]:
    requests = _free_slot_requests(cal, bench, rng, count + 5)
    for request in requests[:5]:
        _timed(partial(cal.book, bench.practice_id, **request))  # warm-up
    samples = [_timed(partial(cal.book, bench.practice_id, **request)) for request in requests[5:]]
    return {"booking": summary(samples)}


@contextmanager
def _temporary_sqlite() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="permanence-bench-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def _postgres_schema(url: str) -> Iterator[Engine]:
    """A throw-away schema in the given PostgreSQL database, dropped afterwards with everything in it."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    engine = make_engine(f"{url}{separator}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def _sqlite_file(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _database(url: str | None) -> AbstractContextManager[Engine]:
    """Where the benchmark writes: a temporary SQLite file, a throw-away PostgreSQL schema, or a SQLite file."""
    if url is None:
        return _temporary_sqlite()
    if make_engine(url).dialect.name == "postgresql":
        return _postgres_schema(url)
    return _sqlite_file(url)


def run_calendar_bench(url: str | None, *, searches: int = 200, bookings: int = 100, seed: int = 7) -> dict[str, Any]:
    """Seed the synthetic practice (default: in a temporary SQLite file), time searches and bookings.

    On PostgreSQL it works in a throw-away schema; in a given SQLite file its rows are removed afterwards.
    """
    with _database(url) as engine:
        migrate(engine)
        began = clock.perf_counter()
        bench = seed_bench_practice(engine, seed=seed)
        seeded_s = clock.perf_counter() - began
        try:
            cal, rng = SqlCalendar(engine), random.Random(seed)
            result: dict[str, Any] = {
                "database": engine.dialect.name,
                "practitioners": len(bench.records),
                "weeks": WEEKS,
                "slots": bench.slots,
                "appointments": bench.appointments,
                "seed_s": round(seeded_s, 2),
            }
            result |= _measure_searches(cal, bench, rng, searches)
            result |= _measure_bookings(cal, bench, rng, bookings)
            return result
        finally:
            if url is not None and engine.dialect.name == "sqlite":
                drop_bench_practice(engine, bench)


def format_table(results: list[dict[str, Any]]) -> str:
    """A plain-text table of p50/p95 per measure and database."""
    measures = ["search", "search_by_name", "search_by_profession", "search_group", "booking"]
    lines = [f"{'measure':<22}" + "".join(f"{r['database'] + ' p50/p95 ms':>28}" for r in results)]
    for measure in measures:
        cells = "".join(f"{r[measure]['p50_ms']:>13.2f} / {r[measure]['p95_ms']:<12.2f}" for r in results)
        lines.append(f"{measure:<22}{cells}")
    sizes = ", ".join(
        f"{r['database']}: {r['practitioners']} practitioners, {r['appointments']} appointments of {r['slots']} slots"
        for r in results
    )
    return "\n".join([*lines, sizes])
