"""Calendar benchmark on SQLite and PostgreSQL: 50 practitioners, three months ~40 % booked."""

from __future__ import annotations

import pytest

from practice.calendar_bench import format_table, run_calendar_bench

pytestmark = pytest.mark.bench

SEARCH_P95_MS = 20.0
BOOKING_P95_MS = 30.0


def test_calendar_bench_sqlite_and_postgresql(postgres_url, capsys):
    results = [run_calendar_bench(None), run_calendar_bench(postgres_url)]
    with capsys.disabled():
        print("\n" + format_table(results))
    for result in results:
        assert result["practitioners"] == 50
        assert 0.35 < result["appointments"] / result["slots"] < 0.45
        assert result["search"]["count"] == 200 and result["booking"]["count"] == 100
        assert result["search"]["p95_ms"] < SEARCH_P95_MS, result
        assert result["booking"]["p95_ms"] < BOOKING_P95_MS, result
