"""Fixtures for the secretary console tests: an app on its own Redis prefix, users, a live uvicorn, logins."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import uvicorn
from fastapi import FastAPI
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.app import create_app
from console.secretary import attach_queue
from escalation.queue import HumanQueue
from escalation.queue_keys import QueueKeys
from escalation.ticket_store import TicketSpec
from practice.models import Practice, Role, User, UserPractice
from practice.passwords import hash_password
from practice.settings import Settings
from tests.live_server import free_port

PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_HASH: dict[str, str] = {}


def password_hash() -> str:
    if "h" not in _HASH:
        _HASH["h"] = hash_password(PASSWORD)
    return _HASH["h"]


@dataclass
class ConsoleWorld:
    app: FastAPI
    engine: Engine
    redis: Redis
    keys: QueueKeys
    practice_ids: list[int]
    tag: str
    users: dict[str, int] = field(default_factory=dict)  # short name (sec0, manager, admin) → user id

    def username(self, short: str) -> str:
        return f"{short}-{self.tag}"

    @property
    def queue(self) -> HumanQueue:
        queue: HumanQueue = self.app.state.queue
        return queue

    def enqueue(self, practice_index: int = 0, *, level: str = "urgent", reason: str = "Douleur") -> str:
        ticket_id = uuid.uuid4().hex
        spec = TicketSpec(id=ticket_id, practice_id=self.practice_ids[practice_index], level=level, reason=reason,
                          caller_number="0612345678")
        self.queue.enqueue(spec)
        return ticket_id


def console_settings(*, demo: bool = False, secret: str = "test-secret-key-not-for-production") -> Settings:
    return Settings(_env_file=None, PERMANENCE_DEMO=demo, PERMANENCE_SECRET_KEY=secret)


def make_console(engine: Engine, redis: Redis, *, secretaries: int = 2, practices: int = 2) -> ConsoleWorld:
    """An app with its own key prefix, `practices` practices, secretaries sec0.. (sec0 on practice 0, sec1 on
    practice 1, the others on practice 0), a manager and an admin, all with PASSWORD."""
    keys = QueueKeys(prefix=f"test:{uuid.uuid4().hex[:10]}")
    app = create_app(settings=console_settings(), engine=engine, redis=redis)
    attach_queue(app, keys)
    tag = uuid.uuid4().hex[:6]
    with Session(engine, expire_on_commit=False) as session:
        rows = [Practice(name=f"Cabinet {i} {tag}", slug=f"cab-{i}-{tag}") for i in range(practices)]
        session.add_all(rows)
        session.flush()
        ids = [p.id for p in rows if p.id is not None]
        users = _users(session, ids, secretaries, tag)
        session.commit()
    return ConsoleWorld(app, engine, redis, keys, ids, tag, users)


def _users(session: Session, practice_ids: list[int], secretaries: int, tag: str) -> dict[str, int]:
    def home(i: int) -> int:
        return practice_ids[1 if i == 1 and len(practice_ids) > 1 else 0]

    people: list[tuple[str, str, int | None]] = [(f"sec{i}-{tag}", Role.secretary, home(i)) for i in range(secretaries)]
    people += [(f"manager-{tag}", Role.manager, None), (f"admin-{tag}", Role.admin, None)]
    found: dict[str, int] = {}
    for username, role, practice_id in people:
        user = User(username=username, role=role, full_name=username, skills=["fr", "en", "pediatrics"],
                    password_hash=password_hash())
        session.add(user)
        session.flush()
        assert user.id is not None
        if practice_id is not None:
            session.add(UserPractice(user_id=user.id, practice_id=practice_id))
        found[username.rsplit("-", 1)[0]] = user.id
    return found


@contextmanager
def live_app(app: FastAPI) -> Iterator[str]:
    """Serve the app with a real uvicorn in a thread; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        events = getattr(app.state, "queue_events", None)
        if events is not None:
            events.close()  # open event streams end, so the server stops at once
            time.sleep(0.1)
        server.should_exit = True
        thread.join(10)


def login(client: httpx.Client, user: str, password: str = PASSWORD) -> str:
    """Log in through the form (GET /login for the CSRF token, POST); return the session's CSRF token."""
    page = client.get("/login")
    match = CSRF_INPUT.search(page.text)
    assert match, page.text
    answer = client.post("/login", data={"username": user, "password": password, "csrf_token": match.group(1)})
    assert answer.status_code == 303, answer.text
    me = client.get("/api/me")
    assert me.status_code == 200, me.text
    token: str = me.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token
