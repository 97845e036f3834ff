"""Benchmark: enqueue → ticket visible on open secretary pages (SSE), and claim through the API, with
1,000 waiting tickets and 20 connected secretaries. Run: pytest -m bench tests/test_bench_queue.py -s
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from redis import Redis
from sqlalchemy.engine import Engine

from tests.console_fixtures import ConsoleWorld, live_app, login, make_console
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.bench

WAITING = 1000
LISTENERS = 20
PROBES = 100
CLAIMS = 200
TARGET_VISIBLE_P95_MS = 300.0
TARGET_CLAIM_P95_MS = 50.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Listener:
    """One secretary page's event stream: when each ticket's `queued` event arrived (perf_counter)."""

    def __init__(self, client: httpx.Client) -> None:
        self.seen: dict[str, float] = {}
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(client,), daemon=True)
        self._thread.start()

    def _run(self, client: httpx.Client) -> None:
        try:
            with client.stream("GET", "/api/events", timeout=None) as response:
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                        if data.get("type") == "queued":
                            self.seen[data["ticket"]] = time.perf_counter()
        except (httpx.HTTPError, RuntimeError, OSError, ValueError):
            return



@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=LISTENERS + 1, practices=1)
    yield w
    drop_prefix(shared_redis, w.keys)


def test_bench_visible_and_claim_latency(world: ConsoleWorld, engine: Engine):
    levels = ("routine", "urgent", "emergency")
    started = time.perf_counter()
    waiting = [world.enqueue(0, level=levels[i % 3]) for i in range(WAITING)]
    fill_s = time.perf_counter() - started
    with live_app(world.app) as base, ExitStack() as stack:
        clients = [stack.enter_context(httpx.Client(base_url=base, timeout=30)) for _ in range(LISTENERS + 1)]
        for i, client in enumerate(clients):
            login(client, world.username(f"sec{i}"))
        listeners = [Listener(c) for c in clients[:LISTENERS]]
        assert all(listener.connected.wait(10) for listener in listeners)
        visible, worst = _probe_visible(world, listeners)
        taker = clients[LISTENERS]
        queue_ms = _timed(lambda: taker.get("/api/queue").raise_for_status(), 30)
        claim_ms = _timed_claims(taker, waiting[:CLAIMS])
    _print_table(engine, fill_s, visible, worst, queue_ms, claim_ms)
    assert pct(visible, 95) <= TARGET_VISIBLE_P95_MS
    assert pct(claim_ms, 95) <= TARGET_CLAIM_P95_MS


def _probe_visible(world: ConsoleWorld, listeners: list[Listener]) -> tuple[list[float], list[float]]:
    sent: dict[str, float] = {}
    for i in range(PROBES):
        t0 = time.perf_counter()
        ticket = world.enqueue(0, level="emergency" if i % 2 else "urgent")
        sent[ticket] = t0
        time.sleep(0.02)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(set(sent) <= set(lst.seen) for lst in listeners):
        time.sleep(0.05)
    samples = [(lst.seen[t] - t0) * 1000 for t, t0 in sent.items() for lst in listeners if t in lst.seen]
    missing = len(sent) * len(listeners) - len(samples)
    assert missing == 0, f"{missing} events never reached a page"
    worst = [max((lst.seen[t] - t0) * 1000 for lst in listeners) for t, t0 in sent.items()]
    return samples, worst


def _timed(action: object, times: int) -> list[float]:
    results = []
    for _ in range(times):
        t0 = time.perf_counter()
        action()  # type: ignore[operator]
        results.append((time.perf_counter() - t0) * 1000)
    return results


def _timed_claims(client: httpx.Client, tickets: list[str]) -> list[float]:
    results = []
    for ticket in tickets:
        t0 = time.perf_counter()
        answer = client.post(f"/api/tickets/{ticket}/claim")
        results.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.text
    return results


def _print_table(engine: Engine, fill_s: float, visible: list[float], worst: list[float], queue_ms: list[float],
                 claim_ms: list[float]) -> None:
    rows = [
        ("enqueue → SSE event on a page", visible, TARGET_VISIBLE_P95_MS),
        ("enqueue → on all 20 pages", worst, TARGET_VISIBLE_P95_MS),
        ("GET /api/queue (1,000 waiting)", queue_ms, None),
        ("POST claim", claim_ms, TARGET_CLAIM_P95_MS),
    ]
    print(f"\nQueue benchmark on {engine.dialect.name}: {WAITING} waiting tickets (filled in {fill_s:.1f} s), "
          f"{LISTENERS} connected SSE pages")
    print(f"{'measure':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target p95':>11}")
    for name, values, target in rows:
        goal = f"≤ {target:.0f}" if target else "—"
        print(f"{name:34} {len(values):>5} {statistics.median(values):>8.1f} {pct(values, 95):>8.1f} "
              f"{max(values):>8.1f} {goal:>11}")
