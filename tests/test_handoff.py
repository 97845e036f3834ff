"""The hand-off end to end: a caller on the media stream, a secretary bridged in over /ws/handoff, the callback."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.cookies import SimpleCookie
from typing import Any

import httpx
import numpy as np
import pytest
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from agent.audio import mulaw_decode
from agent.call_command import SummaryInbox, serving
from agent.call_runner import CallRunner, VoiceStack
from agent.call_store import SqlCallStore
from agent.caller_voice import say_mulaw
from agent.live_calls import HandoffTickets, LiveCallRegistry, duckling_when, queue_policy
from agent.phone_client import PhoneLine
from agent.reception_agent import ReceptionServices
from agent.transports.media_stream import FRAME_BYTES
from agent.voice_stack import StackConfig, build_voice_stack
from console.app import create_app
from console.secretary import attach_queue
from escalation.queue import HumanQueue
from escalation.queue_keys import QueueKeys
from escalation.threshold_store import ThresholdStore
from escalation.ticket_store import TicketStore
from practice.db import make_engine, migrate
from practice.demo import DEMO_PASSWORD, DEMO_SLUG, seed_demo
from practice.models import Practice, Role, Ticket, Turn, User, UserPractice
from practice.passwords import hash_password
from practice.settings import Settings
from tests.console_fixtures import login

pytestmark = pytest.mark.audio

REDIS_URL = "redis://127.0.0.1:6379/10"  # with a key prefix of its own (other suites share databases)
KEYS = QueueKeys(prefix=f"test-handoff:{uuid.uuid4().hex[:8]}")
OPEN_NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # a Tuesday, 10:30 in Paris: the practice is open
EMERGENCY_EN = "My husband has a crushing pain in his chest."
HUMAN_EN = "I would like to speak to a person, please."
SECRETARY_EN = "Hello, this is the front desk. I am here with you now. Is he breathing?"
CALLER_AFTER_EN = "Yes, he is breathing, but he is very pale and sweating."
CALLER_NUMBER = "+33611223344"


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> VoiceStack:
    return build_voice_stack(StackConfig(data_dir=tmp_path_factory.mktemp("handoff-models")))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('handoff-db') / 'handoff.db'}")
    migrate(engine)
    seed_demo(engine, today=date(2026, 11, 24))
    with Session(engine) as session:
        practice = session.exec(select(Practice).where(Practice.slug == DEMO_SLUG)).one()
        other = User(username="secretaire2", full_name="Autre Secrétaire", role=Role.secretary,
                     password_hash=hash_password(DEMO_PASSWORD), skills=["fr", "en"])
        session.add(other)
        session.flush()
        assert other.id is not None and practice.id is not None
        session.add(UserPractice(user_id=other.id, practice_id=practice.id))
        session.commit()
    yield engine
    engine.dispose()


def _clear(redis: Redis) -> None:
    for key in redis.scan_iter(match=KEYS.pattern(), count=500):
        redis.delete(key)


@pytest.fixture(scope="module")
def server(db: Engine, voice: VoiceStack) -> Iterator[tuple[str, SummaryInbox]]:
    redis = Redis.from_url(REDIS_URL)
    _clear(redis)
    inbox = SummaryInbox()
    registry = LiveCallRegistry()
    queue = HumanQueue(redis, TicketStore(db), keys=KEYS)
    services = ReceptionServices(db=db, tickets=HandoffTickets(queue, registry), clock=lambda: OPEN_NOW).warm()
    voice.reception = services
    registry.policy = queue_policy(queue, ThresholdStore(db), db)
    registry.parse_when = duckling_when(services.parser)
    runner = CallRunner(stack=voice, store=SqlCallStore(db), on_call_end=inbox.put, live_calls=registry)
    settings = Settings(_env_file=None, PERMANENCE_DEMO=True)
    app = create_app(settings=settings, engine=db, redis=redis, call_handler=runner, live_calls=registry)
    attach_queue(app, KEYS)
    try:
        with serving(app) as base:
            yield base, inbox
    finally:
        app.state.queue_events.close()
        voice.reception = None
        _clear(redis)
        redis.close()


class Caller:
    """The phone side: a real-time media stream that can speak and records what it hears (and when)."""

    def __init__(self, base: str, language: str = "en") -> None:
        self.base, self.language = base, language
        self.heard: list[tuple[float, bytes]] = []

    async def __aenter__(self) -> Caller:
        self._cm = connect(f"{self.base}/media-stream", compression=None, max_size=2**20)
        self.ws = await self._cm.__aenter__()
        self.line = PhoneLine(self.ws, speed=1.0)
        original = self.line._on_media

        def on_media(event: Any) -> None:
            before = bytes(self.line.segments[-1])
            original(event)
            after = bytes(self.line.segments[-1])
            self.heard.append((time.time(), after[len(before):]))

        self.line._on_media = on_media  # type: ignore[method-assign]
        self.tasks = [asyncio.create_task(self.line.receive_forever())]
        await self.line.send(self.line.messages.connected())
        await self.line.send(self.line.messages.start(
            {"caller": CALLER_NUMBER, "practice": DEMO_SLUG, "language": self.language}))
        self.tasks.append(asyncio.create_task(self.line.stream_forever()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.line.send(self.line.messages.stop())
        for task in self.tasks:
            task.cancel()
        await self.ws.close()

    async def say(self, text: str) -> None:
        await self.line.speak(say_mulaw(text, self.language))

    async def quiet_for(self, seconds: float, timeout: float = 40) -> None:
        """Until the agent has been silent for `seconds` (its line finished; the greeting has started at least)."""
        deadline = time.monotonic() + timeout
        while self.line.agent_media_count == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        while time.monotonic() < deadline:
            if time.time() - self.line.last_agent_media > seconds and self.line.quiet:
                return
            await asyncio.sleep(0.1)

    def loud_frames_since(self, since: float) -> int:
        return sum(_loud(chunk) for at, chunk in self.heard if at >= since)


def _loud(mulaw: bytes) -> bool:
    pcm = mulaw_decode(mulaw).astype(np.float64)
    return bool(pcm.size) and float(np.sqrt(np.mean(pcm**2))) > 300


def _secretary(base: str, username: str = "secretaire") -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base.replace("ws://", "http://"), timeout=10)
    csrf = login(client, username, DEMO_PASSWORD)
    return client, csrf


def _cookie_header(client: httpx.Client) -> str:
    cookie = SimpleCookie()
    for name, value in client.cookies.items():
        cookie[name] = value
    return "; ".join(f"{k}={m.value}" for k, m in cookie.items())


async def _wait_ticket(client: httpx.Client, timeout: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = (await asyncio.to_thread(client.get, "/api/queue")).json()
        if view["waiting"]:
            return dict(view["waiting"][0])
        await asyncio.sleep(0.2)
    raise AssertionError("no ticket reached the queue")


def _turns(db: Engine, call_id: str) -> list[Turn]:
    with Session(db) as session:
        return list(session.exec(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq)))  # type: ignore[arg-type]


def _ticket(db: Engine, ticket_id: str) -> Ticket:
    with Session(db) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


async def test_secretary_is_bridged_both_ways_and_the_record_is_complete(
    server: tuple[str, SummaryInbox], db: Engine
) -> None:
    base, _ = server
    client, csrf = _secretary(base)
    client.post("/api/presence", json={"status": "available"})
    async with Caller(base) as caller:
        await caller.quiet_for(1.0)  # the greeting
        await caller.say(EMERGENCY_EN)
        ticket = await _wait_ticket(client)
        assert ticket["level"] == "emergency"
        ticket_id = ticket["id"]

        # another secretary of the practice cannot take a call she does not hold
        other, other_csrf = _secretary(base, "secretaire2")
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{base}/ws/handoff/{ticket_id}?csrf={other_csrf}",
                               additional_headers={"Cookie": _cookie_header(other)}):
                pass
        assert refused.value.response.status_code == 403

        assert client.post(f"/api/tickets/{ticket_id}/claim").status_code == 200
        # without the CSRF token, even the holder is refused
        with pytest.raises(InvalidStatus):
            async with connect(f"{base}/ws/handoff/{ticket_id}", additional_headers={"Cookie": _cookie_header(client)}):
                pass
        with pytest.raises(InvalidStatus) as refused:  # another secretary, after the claim: still 403
            async with connect(f"{base}/ws/handoff/{ticket_id}?csrf={other_csrf}",
                               additional_headers={"Cookie": _cookie_header(other)}):
                pass
        assert refused.value.response.status_code == 403

        received: list[bytes] = []
        events: list[dict[str, Any]] = []
        async with connect(f"{base}/ws/handoff/{ticket_id}?csrf={csrf}", max_size=2**20,
                           additional_headers={"Cookie": _cookie_header(client)}) as ws:
            bridged_at = time.time()

            async def listen() -> None:
                async for message in ws:
                    if isinstance(message, bytes):
                        received.append(message)
                    else:
                        events.append(json.loads(message))

            listener = asyncio.create_task(listen())
            await asyncio.sleep(0.5)
            assert _ticket(db, ticket_id).status == "connected"
            agent_turns_at_bridge = sum(t.speaker == "agent" for t in _turns(db, ticket_id))
            voice_frames = say_mulaw(SECRETARY_EN, "en") + b"\xff" * 8000
            started = time.monotonic()
            for n, start in enumerate(range(0, len(voice_frames), FRAME_BYTES)):  # real time, like a microphone
                await ws.send(voice_frames[start:start + FRAME_BYTES])
                await asyncio.sleep(max(0.0, started + (n + 1) * 0.02 - time.monotonic()))
            await caller.say(CALLER_AFTER_EN)
            silence = b"\xff" * FRAME_BYTES
            deadline = time.monotonic() + 25  # her microphone stays open (silence) while both are transcribed
            while time.monotonic() < deadline:
                await ws.send(silence)
                await asyncio.sleep(0.02)
                speakers = {e.get("speaker") for e in events if e.get("type") == "transcript"}
                if {"caller", "secretary"} <= speakers:
                    break
            await ws.send(json.dumps({"type": "hangup"}))
            await asyncio.wait_for(listener, 15)
        await asyncio.wait_for(caller.line.closed.wait(), 15)  # her hang-up ends the call

    # both ways: her voice reached the caller's socket, the caller's voice reached her
    assert caller.loud_frames_since(bridged_at) > 25
    assert sum(_loud(chunk) for chunk in received) > 25
    # the agent stopped speaking: no agent line after the bridge, and the live transcript has both sides
    turns = _turns(db, ticket_id)
    assert sum(t.speaker == "agent" for t in turns) == agent_turns_at_bridge
    secretary = [t.text.lower() for t in turns if t.speaker == "secretary"]
    callers = [t.text.lower() for t in turns if t.speaker == "caller"]
    assert any("front desk" in t or "breathing" in t for t in secretary), secretary
    assert any("pale" in t or "breathing" in t or "sweat" in t for t in callers[1:]), callers
    spoken = [e for e in events if e.get("type") == "transcript"]
    assert {e["speaker"] for e in spoken} >= {"caller", "secretary"}
    assert any(e.get("type") == "state" and e.get("state") == "connected" for e in events)
    assert _ticket(db, ticket_id).status == "connected"  # she closes it with a disposition from the console
    assert client.post(f"/api/tickets/{ticket_id}/close", json={"disposition": "advised_15"}).status_code == 200


async def test_nobody_picks_up_the_agent_offers_a_callback(server: tuple[str, SummaryInbox], db: Engine) -> None:
    base, inbox = server
    store = ThresholdStore(db)
    with Session(db) as session:
        practice_id = session.exec(select(Practice.id).where(Practice.slug == DEMO_SLUG)).one()
    draft = store.create_draft(practice_id, {"handoff_wait_seconds": 10}, note="test")
    assert draft.id is not None
    store.activate(draft.id, reason="short wait for the test")
    client, _ = _secretary(base)
    client.post("/api/presence", json={"status": "available"})  # present, but she does not pick up
    async with Caller(base) as caller:
        await caller.quiet_for(1.0)
        await caller.say(HUMAN_EN)
        ticket = await _wait_ticket(client)
        asked = time.time()
        await caller.quiet_for(1.0)  # the holding line
        while time.time() - asked < 9 and not caller.line.closed.is_set():
            client.post("/api/presence", json={"status": "available"})
            await asyncio.sleep(1)
        deadline = time.monotonic() + 30  # the agent comes back with the offer
        while caller.line.last_agent_media < asked + 9.5 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert caller.line.last_agent_media >= asked + 9.5, "the agent did not come back"
        await caller.quiet_for(1.0)
        await caller.say("Tomorrow morning at ten o'clock.")
        await asyncio.wait_for(caller.line.closed.wait(), 40)  # noted, numbers given, goodbye
    summary = await asyncio.to_thread(inbox.wait, caller.line.sid, 20)
    assert summary is not None
    row = _ticket(db, ticket["id"])
    assert row.status == "callback" and row.caller_number == CALLER_NUMBER and row.callback_due is not None
    agent_lines = [t.text for t in _turns(db, ticket["id"]) if t.speaker == "agent"]
    assert any("call you back" in line for line in agent_lines), agent_lines
    assert any("116 117" in line and "15" in line for line in agent_lines), agent_lines
    due = row.callback_due if row.callback_due.tzinfo else row.callback_due.replace(tzinfo=UTC)
    assert due > datetime.now(UTC)


async def test_a_caller_who_hangs_up_before_the_pick_up_leaves_an_abandoned_ticket(
    server: tuple[str, SummaryInbox], db: Engine
) -> None:
    base, inbox = server
    client, _ = _secretary(base)
    client.post("/api/presence", json={"status": "available"})
    async with Caller(base) as caller:
        await caller.quiet_for(1.0)
        await caller.say(HUMAN_EN)
        ticket = await _wait_ticket(client)
    summary = await asyncio.to_thread(inbox.wait, caller.line.sid, 20)
    assert summary is not None
    deadline = time.monotonic() + 10
    while _ticket(db, ticket["id"]).status != "abandoned" and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert _ticket(db, ticket["id"]).status == "abandoned"
    view = client.get("/api/queue").json()
    assert all(t["id"] != ticket["id"] for t in view["waiting"])


def test_handoff_socket_refuses_anonymous_and_unknown(server: tuple[str, SummaryInbox]) -> None:
    base, _ = server

    async def attempt(headers: dict[str, str], path: str) -> int:
        try:
            async with connect(f"{base}{path}", additional_headers=headers):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(attempt({}, "/ws/handoff/nope?csrf=x")) == 403
    client, csrf = _secretary(base)
    assert asyncio.run(attempt({"Cookie": _cookie_header(client)}, f"/ws/handoff/nope?csrf={csrf}")) == 403
    evil = {"Cookie": _cookie_header(client), "Origin": "https://evil.example"}
    assert asyncio.run(attempt(evil, f"/ws/handoff/nope?csrf={csrf}")) == 403


def test_livekit_token_is_404_for_a_media_stream_call(server: tuple[str, SummaryInbox]) -> None:
    base, _ = server
    client, _ = _secretary(base)
    assert client.get("/api/tickets/nope/livekit-token").status_code == 404


