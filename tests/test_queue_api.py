"""The secretary's queue API over real HTTP (uvicorn), real Redis, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import queue as stdqueue
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from console.app import create_app
from console.events import EventBroadcaster, sse_stream
from console.maintenance import QueueMaintenance
from escalation.queue_keys import QueueKeys
from escalation.ticket_store import TicketSpec
from practice.models import AuditLog, Call, Ticket, TicketStatus, Turn
from tests.console_fixtures import ConsoleWorld, console_settings, live_app, login, make_console
from tests.queue_fixtures import (  # noqa: F401  (fixtures)
    PrivateRedis,
    QueueWorld,
    drop_prefix,
    make_world,
    private_redis,
    shared_redis,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=3)
    yield w
    drop_prefix(shared_redis, w.keys)


@pytest.fixture
def base(world: ConsoleWorld) -> Iterator[str]:
    with live_app(world.app) as url:
        yield url


@contextmanager
def client_for(world: ConsoleWorld, base: str, short: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10) as client:
        login(client, world.username(short))
        yield client


def test_queue_shows_only_her_practices_tickets(world: ConsoleWorld, base: str):
    mine = world.enqueue(0, level="emergency", reason="Douleur thoracique")
    other = world.enqueue(1, level="urgent", reason="Fièvre")
    with client_for(world, base, "sec0") as sec0, client_for(world, base, "manager") as manager:
        view = sec0.get("/api/queue").json()
        assert [t["id"] for t in view["waiting"]] == [mine]
        assert view["waiting"][0]["reason"] == "Douleur thoracique"
        assert view["waiting"][0]["level"] == "emergency"
        assert sec0.get(f"/api/tickets/{other}").status_code == 404
        assert sec0.post(f"/api/tickets/{other}/claim").status_code == 404
        assert {t["id"] for t in manager.get("/api/queue").json()["waiting"]} == {mine, other}


def test_claim_race_through_http_has_one_winner(engine: Engine, shared_redis: Redis):  # noqa: F811
    world = make_console(engine, shared_redis, secretaries=12, practices=1)
    try:
        ticket = world.enqueue(0, level="emergency")
        with live_app(world.app) as base:
            clients = [httpx.Client(base_url=base, timeout=10) for i in range(12) if i != 1]
            for client, i in zip(clients, [i for i in range(12) if i != 1], strict=True):
                login(client, world.username(f"sec{i}"))
            barrier = threading.Barrier(len(clients))

            def claim(client: httpx.Client) -> int:
                barrier.wait()
                return client.post(f"/api/tickets/{ticket}/claim").status_code

            with ThreadPoolExecutor(len(clients)) as pool:
                codes = list(pool.map(claim, clients))
            for client in clients:
                client.close()
        assert sorted(codes) == [200] + [409] * (len(clients) - 1)
        row = world.queue.entry(ticket)
        assert row is not None and row.status == "claimed"
    finally:
        drop_prefix(shared_redis, world.keys)


def test_claim_conflict_and_unknown_have_clear_messages(world: ConsoleWorld, base: str):
    ticket = world.enqueue(0)
    with client_for(world, base, "sec0") as sec0, client_for(world, base, "sec2") as sec2:
        assert sec0.post(f"/api/tickets/{ticket}/claim").status_code == 200
        assert sec0.post(f"/api/tickets/{ticket}/claim").status_code == 200  # idempotent for the holder
        lost = sec2.post(f"/api/tickets/{ticket}/claim")
        assert lost.status_code == 409
        assert lost.json()["code"] == "already_claimed" and "Trop tard" in lost.json()["detail"]
        assert sec0.post("/api/tickets/does-not-exist/claim").status_code == 404


def test_summary_view_is_audited_and_close_records_disposition(world: ConsoleWorld, base: str):
    ticket = world.enqueue(0, level="emergency", reason="")
    _call_with_turns(world.engine, ticket, world.practice_ids[0])
    with client_for(world, base, "sec0") as sec0:
        assert sec0.post(f"/api/tickets/{ticket}/claim").status_code == 200
        detail = sec0.get(f"/api/tickets/{ticket}").json()
        assert detail["mine"] is True and detail["status"] == "claimed"
        assert detail["summary"]["rules"][0]["evidence"] == "j'ai très mal à la poitrine"
        assert [t["speaker"] for t in detail["summary"]["transcript"]] == ["agent", "caller"]
        assert "URGENCE VITALE" in detail["summary_text"]
        sec0.get(f"/api/tickets/{ticket}")  # a re-read within the window is the same view
        bad = sec0.post(f"/api/tickets/{ticket}/close", json={"disposition": "whatever"})
        assert bad.status_code == 422
        closed = sec0.post(f"/api/tickets/{ticket}/close", json={"disposition": "advised_15", "note": "SAMU prévenu"})
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        assert ticket not in [t["id"] for t in sec0.get("/api/queue").json()["held"]]
    with Session(world.engine) as session:
        row = session.get(Ticket, ticket)
        assert row is not None and row.status == TicketStatus.closed and row.disposition == "advised_15"
        audits = list(session.exec(select(AuditLog).where(AuditLog.entity_id == ticket)))
        assert sorted(a.action for a in audits) == ["close", "view"]


def test_release_puts_the_ticket_back_first(world: ConsoleWorld, base: str):
    older = world.enqueue(0, level="urgent")
    ticket = world.enqueue(0, level="urgent")
    with client_for(world, base, "sec0") as sec0, client_for(world, base, "sec2") as sec2:
        assert sec0.post(f"/api/tickets/{ticket}/claim").status_code == 200
        assert [t["id"] for t in sec0.get("/api/queue").json()["held"]] == [ticket]
        assert sec2.post(f"/api/tickets/{ticket}/release").status_code == 409  # not hers
        assert sec0.post(f"/api/tickets/{ticket}/release").status_code == 200
        waiting = sec2.get("/api/queue").json()["waiting"]
        assert [t["id"] for t in waiting] == [ticket, older]
        assert waiting[0]["requeued"] is True


def test_callbacks_are_listed_and_closed(world: ConsoleWorld, base: str):
    from datetime import UTC, datetime, timedelta

    ticket = world.enqueue(0, level="routine", reason="Rappeler pour résultats")
    world.queue.to_callback(ticket, due=datetime.now(UTC) + timedelta(hours=2), number="0698765432")
    with client_for(world, base, "sec0") as sec0:
        view = sec0.get("/api/queue").json()
        assert [c["id"] for c in view["callbacks"]] == [ticket]
        assert view["callbacks"][0]["caller_number"] == "06 98 76 54 32" and view["waiting"] == []
        done = sec0.post(f"/api/tickets/{ticket}/close", json={"disposition": "callback_done"})
        assert done.status_code == 200 and done.json()["status"] == "closed"
        assert sec0.get("/api/queue").json()["callbacks"] == []


def test_presence_heartbeat(world: ConsoleWorld, base: str):
    with client_for(world, base, "sec0") as sec0:
        assert sec0.get("/api/queue").json()["presence"] is None
        assert sec0.post("/api/presence", json={"status": "busy"}).status_code == 200
        assert sec0.get("/api/queue").json()["presence"] == "busy"
        assert sec0.post("/api/presence", json={"status": "asleep"}).status_code == 422


def test_queue_routes_answer_503_when_redis_is_down(engine: Engine):
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.3, socket_connect_timeout=0.3)
    app = create_app(settings=console_settings(), engine=engine, redis=dead)
    live_redis = Redis.from_url("redis://127.0.0.1:6379/0")
    live = make_console(engine, live_redis)
    ticket = live.enqueue(0)  # in the database (and on the live Redis the dead app cannot reach)
    try:
        with live_app(app) as base, httpx.Client(base_url=base, timeout=10) as client:
            login(client, live.username("sec0"))  # the login limiter lets people in when Redis is down
            assert client.get("/api/queue").status_code == 503
            answer = client.post(f"/api/tickets/{ticket}/claim")
            assert answer.status_code == 503
            assert answer.json()["code"] == "queue_unavailable"
            assert "injoignable" in answer.json()["detail"]
    finally:
        drop_prefix(live_redis, live.keys)


def test_sse_delivers_her_enqueued_tickets_and_resumes(world: ConsoleWorld, base: str):
    with client_for(world, base, "sec0") as sec0:
        events = _Listener(sec0)
        events.wait_connected()
        world.enqueue(1)  # another practice: never sent to her
        first = world.enqueue(0, level="emergency")
        event_id, data = events.next_event()
        assert data["ticket"] == first and data["type"] == "queued" and data["level"] == "emergency"
        events.stop()
        missed = world.enqueue(0)
        resumed = _Listener(sec0, last_event_id=event_id)
        _, data = resumed.next_event()
        assert data["ticket"] == missed
        resumed.stop()


class _Listener:
    """Reads /api/events in a thread; hands (id, data) pairs over a queue."""

    def __init__(self, client: httpx.Client, last_event_id: str | None = None) -> None:
        self.items: stdqueue.Queue[tuple[str, dict[str, object]] | str] = stdqueue.Queue()
        self._stop = threading.Event()
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self._thread = threading.Thread(target=self._run, args=(client, headers), daemon=True)
        self._thread.start()

    def _run(self, client: httpx.Client, headers: dict[str, str]) -> None:
        try:
            self._read(client, headers)
        except (httpx.HTTPError, RuntimeError):
            return  # the test closed the client

    def _read(self, client: httpx.Client, headers: dict[str, str]) -> None:
        with client.stream("GET", "/api/events", headers=headers, timeout=30) as response:
            event_id = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(": connected"):
                    self.items.put("connected")
                elif line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    self.items.put((event_id, json.loads(line[6:])))

    def wait_connected(self) -> None:
        assert self.items.get(timeout=10) == "connected"

    def next_event(self) -> tuple[str, dict[str, object]]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            item = self.items.get(timeout=10)
            if isinstance(item, tuple):
                return item
        raise AssertionError("no event")

    def stop(self) -> None:
        self._stop.set()


def _call_with_turns(engine: Engine, call_id: str, practice_id: int) -> None:
    triage = {"level": "emergency", "intent": "symptom", "clinical_question": False,
              "rules": [{"id": "chest_pain", "level": "emergency", "label": "Douleur thoracique",
                         "evidence": "j'ai très mal à la poitrine", "action": "advise_15"}]}
    with Session(engine) as session:
        session.add(Call(id=call_id, practice_id=practice_id, caller_number="+33612345678",
                         triage_level="emergency", escalated=True))
        session.flush()
        session.add(Turn(call_id=call_id, seq=1, speaker="agent", text="Cabinet des Tilleuls, bonjour."))
        session.add(Turn(call_id=call_id, seq=2, speaker="caller", text="J'ai très mal à la poitrine.",
                         triage=triage))
        session.commit()


# --- background maintenance (console/maintenance.py) -------------------------------------------------------


def test_maintenance_rebuilds_after_a_redis_restart(engine: Engine, private_redis: PrivateRedis):  # noqa: F811
    redis = Redis.from_url(private_redis.url, socket_timeout=1, socket_connect_timeout=1)
    world = make_world(engine, redis)
    ticket = world.queue.enqueue(TicketSpec(id=uuid.uuid4().hex, practice_id=world.practice_ids[0],
                                            level="urgent", caller_number="0612345678")).ticket
    upkeep = QueueMaintenance(world.queue, redis, engine)
    assert upkeep.tick().rebuilt == 0  # first round: nothing was lost
    assert upkeep.tick().rebuilt is None  # same Redis: no rebuild
    private_redis.kill()
    assert upkeep.tick().error  # Redis down: reported, not raised
    private_redis.start()
    report = upkeep.tick()
    assert report.rebuilt == 1 and report.error == ""
    entry = world.queue.entry(ticket.id)
    assert entry is not None and entry.status == "queued"


def test_maintenance_bumps_late_tickets_and_frees_vanished_secretaries(world_q: QueueWorld, engine: Engine):
    queue, clock = world_q.queue, world_q.clock
    late = queue.enqueue(TicketSpec(id=uuid.uuid4().hex, practice_id=world_q.practice_ids[0], level="urgent")).ticket
    held = queue.enqueue(TicketSpec(id=uuid.uuid4().hex, practice_id=world_q.practice_ids[0], level="routine")).ticket
    secretary = world_q.user_ids[0]
    queue.heartbeat(secretary)
    queue.claim(held.id, secretary)
    upkeep = QueueMaintenance(queue, world_q.redis, engine, presence_timeout_s=45)
    assert upkeep.tick().sla_breached == []
    clock.advance(121)  # past the default urgent SLA (120 s) and the presence timeout
    report = upkeep.tick()
    assert report.sla_breached == [late.id]
    assert report.freed == {secretary: [held.id]}
    entry = queue.entry(held.id)
    assert entry is not None and entry.status == "queued" and entry.requeued


@pytest.fixture
def world_q(engine: Engine, shared_redis: Redis) -> Iterator[QueueWorld]:  # noqa: F811
    w = make_world(engine, shared_redis)
    yield w
    drop_prefix(shared_redis, w.keys)


async def test_event_stream_sends_heartbeats_and_ends_on_close(shared_redis: Redis):  # noqa: F811
    keys = QueueKeys(prefix=f"test:{uuid.uuid4().hex[:10]}")
    broadcaster = EventBroadcaster(shared_redis, keys, block_ms=100)
    stream = sse_stream(broadcaster, lambda event: True, last_event_id=None, heartbeat_s=0.05)
    assert (await anext(stream)).startswith("retry: 3000\n: connected")
    assert await anext(stream) == ": keep-alive\n\n"
    assert broadcaster.subscribers == 1
    broadcaster.close()
    with pytest.raises(StopAsyncIteration):
        while True:
            assert await anext(stream) == ": keep-alive\n\n"
    assert broadcaster.subscribers == 0
