"""Fixtures for the human-queue tests: a key prefix of their own, a settable clock, a private Redis server."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from escalation.queue import HumanQueue
from escalation.queue_keys import QueueKeys
from escalation.ticket_store import TicketStore
from practice.models import Practice, User
from tests.live_server import free_port

SHARED_REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class FakeClock:
    """A clock the test moves by hand (epoch seconds)."""

    now: float = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class QueueWorld:
    queue: HumanQueue
    store: TicketStore
    redis: Redis
    keys: QueueKeys
    clock: FakeClock
    practice_ids: list[int]
    user_ids: list[int]


def seed_people(engine: Engine, *, practices: int = 2, users: int = 5) -> tuple[list[int], list[int]]:
    with Session(engine, expire_on_commit=False) as session:
        rows = [Practice(name=f"Cabinet {i}", slug=f"cabinet-{uuid.uuid4().hex[:8]}") for i in range(practices)]
        people = [User(username=f"sec-{uuid.uuid4().hex[:8]}", password_hash="x") for _ in range(users)]
        session.add_all([*rows, *people])
        session.commit()
        return [p.id for p in rows if p.id], [u.id for u in people if u.id]


def drop_prefix(redis: Redis, keys: QueueKeys) -> None:
    for key in redis.scan_iter(match=keys.pattern(), count=500):
        redis.delete(key)


def make_world(engine: Engine, redis: Redis, *, users: int = 5) -> QueueWorld:
    keys = QueueKeys(prefix=f"test:{uuid.uuid4().hex[:10]}")
    clock = FakeClock()
    store = TicketStore(engine)
    practice_ids, user_ids = seed_people(engine, users=users)
    queue = HumanQueue(redis, store, keys=keys, clock=clock)
    return QueueWorld(queue, store, redis, keys, clock, practice_ids, user_ids)


@pytest.fixture
def shared_redis() -> Iterator[Redis]:
    client = Redis.from_url(SHARED_REDIS)
    try:
        client.ping()
    except RedisError as exc:
        pytest.fail(f"Redis is not reachable at {SHARED_REDIS}: {exc}")
    yield client
    client.close()


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[QueueWorld]:
    w = make_world(engine, shared_redis)
    yield w
    drop_prefix(shared_redis, w.keys)


class PrivateRedis:
    """A redis-server of the test's own, which the test may kill and restart (empty, like a crash)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed (scripts/setup.sh installs it)")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait_ping()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def _wait_ping(self) -> None:
        client = Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except RedisError:
                time.sleep(0.05)
        pytest.fail("the private redis-server did not start")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()
