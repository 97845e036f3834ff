"""Manager console benchmarks: what-if replay of 10,000 recorded utterances, and every report page's p50/p95
on a synthetic year of calls for a 10-practitioner group, on SQLite and PostgreSQL (prints tables).

Run: .venv/bin/pytest -m bench tests/test_bench_manager.py -s
"""

from __future__ import annotations

import itertools
import os
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from redis import Redis
from sqlalchemy.engine import Engine

from console.i18n import LANGUAGE_COOKIE
from console.manager.common import period
from console.manager.whatif import Assessor, Sample, compare, recorded_samples
from escalation.thresholds import Thresholds
from practice.db import make_engine, migrate
from practice.synthetic import SyntheticSpec, SyntheticSummary, generate
from tests.conftest import POSTGRES_ADMIN_URL
from tests.console_fixtures import make_console
from tests.manager_fixtures import client_as
from tests.queue_fixtures import SHARED_REDIS, drop_prefix

pytestmark = pytest.mark.bench

SPEC = SyntheticSpec(seed=2026, start=date(2025, 1, 6), days=365)
LAST_DAY = date(2026, 1, 4)
PARIS = ZoneInfo("Europe/Paris")
REPLAY_N = 10_000
RUNS = 20
TARGET_MS = 300.0
RESULTS: list[str] = []


@dataclass
class YearDb:
    name: str
    engine: Engine
    summary: SyntheticSummary
    load_s: float


def _postgres_db() -> tuple[str, Callable[[], None]]:
    name = f"perm_bench_mgr_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def year(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[YearDb]:
    """A migrated database holding a synthetic year (about 55,000 calls), generated once per database."""
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('bench-year')) / 'year.db'}"
    else:
        url, drop = _postgres_db()
    engine = make_engine(url)
    migrate(engine)
    started = time.perf_counter()
    summary = generate(engine, SPEC)
    db = YearDb(request.param, engine, summary, time.perf_counter() - started)
    RESULTS.append(f"[{db.name}] synthetic year: {summary.calls} calls, {summary.turns} turns "
                   f"({summary.caller_turns} caller), {summary.tickets} tickets, {summary.events} events, "
                   f"{summary.appointments} appointments — written in {db.load_s:.1f} s")
    yield db
    engine.dispose()
    drop()


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the replay's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} CPU(s)"


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _replay_samples(db: YearDb) -> list[Sample]:
    span = period(SPEC.start, LAST_DAY, PARIS)
    return list(itertools.islice(recorded_samples(db.engine, db.summary.practice_ids, span), REPLAY_N))


def test_replay_of_10000_recorded_utterances(year: YearDb):
    started = time.perf_counter()
    samples = _replay_samples(year)
    load_s = time.perf_counter() - started
    assert len(samples) == REPLAY_N
    draft = Thresholds(high_fever_celsius=38.5, urgent_action="callback")
    rows = []
    for label, batch in (("as recorded", samples),
                         ("all distinct", [Sample(s.key, f"{s.text} (appel {i})", s.label, s.call_id, s.seq)
                                           for i, s in enumerate(samples)])):
        assessor = Assessor()
        t0, cpu0 = time.perf_counter(), _cpu()
        cold = compare(batch, Thresholds(), draft, assessor)
        cold_s = time.perf_counter() - t0
        assessor.close(wait=True)  # the workers' CPU time is counted once they have exited
        cold_cpu = _cpu() - cpu0
        t0 = time.perf_counter()
        compare(batch, Thresholds(), draft, assessor)
        warm_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        compare(batch, Thresholds(), Thresholds(lasting_fever_days=2), assessor)  # another draft: active cached
        next_s = time.perf_counter() - t0
        assessor.close()
        distinct = len({s.text for s in batch})
        rows.append(f"[{year.name}] replay {REPLAY_N} utterances ({label}, {distinct} distinct, "
                    f"{assessor.workers} worker(s)): load {load_s:.2f} s, cold {cold_s:.2f} s "
                    f"(CPU {cold_cpu:.2f} s in all processes), same draft again {warm_s:.2f} s, "
                    f"another draft {next_s:.2f} s, changed {cold.changed_total}")
        assert cold.active.total == REPLAY_N
    RESULTS.extend(rows)


def test_replay_endpoint_on_a_month(year: YearDb):
    redis = Redis.from_url(SHARED_REDIS)
    world = make_console(year.engine, redis, secretaries=1)
    try:
        with client_as(world, "manager") as manager:
            body = {"practice_id": None, "values": {"high_fever_celsius": 38.5}, "date_from": "2025-01-06",
                    "date_to": "2025-02-05"}
            t0 = time.perf_counter()
            answer = manager.post("/api/manager/thresholds/replay", json=body)
            took = time.perf_counter() - t0
        assert answer.status_code == 200, answer.text
        data = answer.json()
        RESULTS.append(f"[{year.name}] POST /api/manager/thresholds/replay (one month: "
                       f"{data['recorded']['active']['total']} caller turns of {data['recorded']['calls']} calls "
                       f"+ {data['evaluation']['active']['total']} evaluation lines): {took:.2f} s")
    finally:
        drop_prefix(redis, world.keys)
        redis.close()


def test_report_pages_p50_p95(year: YearDb):
    redis = Redis.from_url(SHARED_REDIS)
    world = make_console(year.engine, redis, secretaries=1)
    one = year.summary.practice_ids[0]
    whole = f"date_from={SPEC.start}&date_to={LAST_DAY}"
    pages = [
        ("page, year, group", f"/manager/reports?{whole}", "fr"),
        ("page, year, group, English", f"/manager/reports?{whole}", "en"),
        ("page, year, one practice", f"/manager/reports?practice_id={one}&{whole}", "fr"),
        ("page, last 30 days", "/manager/reports?date_from=2025-12-06&date_to=2026-01-04", "fr"),
        ("JSON, year, group", f"/api/manager/reports?{whole}", "fr"),
        *((f"CSV {name}, year", f"/api/manager/reports/{name}.csv?{whole}", "fr")
          for name in ("volume", "outcomes", "escalations", "waits", "abandoned", "callbacks", "appointments")),
        ("CSV escalations, year, English", f"/api/manager/reports/escalations.csv?{whole}", "en"),
    ]
    try:
        with client_as(world, "manager") as manager:
            for label, url, language in pages:
                manager.cookies.set(LANGUAGE_COOKIE, language)
                for _ in range(2):
                    assert manager.get(url).status_code == 200
                timings, cpu = [], []
                for _ in range(RUNS):
                    t0, c0 = time.perf_counter(), time.process_time()
                    answer = manager.get(url)
                    timings.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    assert answer.status_code == 200
                p50, p95 = _ms(timings)
                verdict = "ok" if p95 < TARGET_MS else "OVER"
                RESULTS.append(f"[{year.name}] {label:<31} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {verdict:4} "
                               f"(this process's CPU p50 {_ms(cpu)[0]:5.1f} ms; {_load()})")
    finally:
        drop_prefix(redis, world.keys)
        redis.close()


@pytest.fixture(scope="module", autouse=True)
def print_table() -> Iterator[None]:
    """After the module: print every figure (also without -s) and keep them under artifacts/bench/."""
    yield
    lines = ["", f"Manager console benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {_load()})",
             *("  " + r for r in RESULTS)]
    if sys.__stdout__ is not None:
        sys.__stdout__.write("\n".join(lines) + "\n")
    out = Path(os.environ.get("PERMANENCE_ARTIFACTS", "artifacts")) / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "manager.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
