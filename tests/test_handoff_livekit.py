"""LiveKit mode of the hand-off: the secretary's room token (decoded) and the agent's audio switch (with fakes)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine

from agent.handoff import numbers_text
from agent.handoff_livekit import RoomHandoff, is_secretary, switch_agent_audio
from escalation.live_rooms import MemoryRoomDirectory, RedisRoomDirectory
from escalation.queue_keys import QueueKeys
from tests.console_fixtures import CSRF_INPUT, PASSWORD, ConsoleWorld, make_console
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

SECRET = "livekit-test-secret-of-at-least-32-chars"


# --- the agent's side (fakes: no LiveKit server runs here) ---------------------------------------------------


class FakeIO:
    def __init__(self) -> None:
        self.audio_enabled = True
        self.calls: list[bool] = []

    def set_audio_enabled(self, enabled: bool) -> None:
        self.audio_enabled = enabled
        self.calls.append(enabled)


class FakeSession:
    def __init__(self) -> None:
        self.input, self.output = FakeIO(), FakeIO()
        self.interrupted = 0

    def interrupt(self, *, force: bool = False) -> None:
        assert force
        self.interrupted += 1


class FakeRoom:
    name = "call-room-42"

    def __init__(self) -> None:
        self.handlers: dict[str, list[Any]] = {}

    def on(self, event: str, callback: Any) -> None:
        self.handlers.setdefault(event, []).append(callback)

    def off(self, event: str, callback: Any) -> None:
        self.handlers[event].remove(callback)

    def emit(self, event: str, participant: Any) -> None:
        for callback in list(self.handlers.get(event, [])):
            callback(participant)


@pytest.mark.unit
def test_switch_turns_the_agents_audio_input_and_output_off_and_on() -> None:
    session = FakeSession()
    switch_agent_audio(session, enabled=False)  # type: ignore[arg-type]
    assert session.interrupted == 1 and not session.input.audio_enabled and not session.output.audio_enabled
    switch_agent_audio(session, enabled=True)  # type: ignore[arg-type]
    assert session.input.audio_enabled and session.output.audio_enabled and session.interrupted == 1


@pytest.mark.unit
async def test_room_handoff_publishes_the_room_and_mutes_the_agent_when_the_secretary_joins() -> None:
    session, room, rooms, hangup = FakeSession(), FakeRoom(), MemoryRoomDirectory(), asyncio.Event()
    watcher = RoomHandoff(session=session, room=room, call_id="c1", rooms=rooms, hangup=hangup).start()  # type: ignore[arg-type]
    assert rooms.room_for("c1") == "call-room-42"
    room.emit("participant_connected", SimpleNamespace(identity="sip_+33611223344"))  # another caller leg
    assert session.input.calls == [] and session.output.calls == []
    room.emit("participant_connected", SimpleNamespace(identity="secretary-7"))
    assert session.input.calls == [False] and session.output.calls == [False]
    room.emit("participant_connected", SimpleNamespace(identity="secretary-8"))  # a second one changes nothing
    assert session.input.calls == [False]
    room.emit("participant_disconnected", SimpleNamespace(identity="secretary-8"))
    assert not hangup.is_set()
    room.emit("participant_disconnected", SimpleNamespace(identity="secretary-7"))  # her hang-up ends the call
    assert hangup.is_set()
    watcher.stop()
    assert rooms.room_for("c1") is None and room.handlers == {"participant_connected": [],
                                                              "participant_disconnected": []}


@pytest.mark.unit
def test_who_is_a_secretary() -> None:
    assert is_secretary(SimpleNamespace(identity="secretary-12"))
    assert not is_secretary(SimpleNamespace(identity="sip_0611223344"))


@pytest.mark.unit
def test_numbers_follow_the_practice_policy() -> None:
    policy = {"emergency_number": "15", "urgent_care_number": "116 117", "sos_medecins": "3624",
              "maison_medicale_de_garde": "Maison médicale de garde Lyon 3e"}
    text = numbers_text(policy, "fr")
    assert "le 15" in text and "116 117" in text and "SOS Médecins au 3624" in text and "Lyon 3e" in text
    bare = numbers_text({}, "en")
    assert "call 15" in bare and "116 117" in bare and "SOS" not in bare


# --- the console's side: the token --------------------------------------------------------------------------


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=3)
    w.app.state.settings = w.app.state.settings.model_copy(update={
        "livekit_url": "wss://livekit.example", "livekit_api_key": "APIkey", "livekit_api_secret": SECRET})
    w.app.state.live_rooms = MemoryRoomDirectory()
    yield w
    drop_prefix(shared_redis, w.keys)


def _logged_in(world: ConsoleWorld, short: str) -> TestClient:
    client = TestClient(world.app, follow_redirects=False)
    match = CSRF_INPUT.search(client.get("/login").text)
    assert match
    answer = client.post("/login", data={"username": world.username(short), "password": PASSWORD,
                                         "csrf_token": match.group(1)})
    assert answer.status_code == 303
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    return client


@pytest.mark.integration
def test_the_holder_gets_a_token_for_the_callers_room_only(world: ConsoleWorld) -> None:
    ticket = world.enqueue(0, level="emergency")
    world.app.state.live_rooms.publish(ticket, "sip-room-abc")
    holder, other = _logged_in(world, "sec0"), _logged_in(world, "sec2")
    assert holder.get(f"/api/tickets/{ticket}/livekit-token").status_code == 404  # not claimed yet
    assert holder.post(f"/api/tickets/{ticket}/claim").status_code == 200
    assert other.get(f"/api/tickets/{ticket}/livekit-token").status_code == 404  # not hers
    answer = holder.get(f"/api/tickets/{ticket}/livekit-token")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["url"] == "wss://livekit.example" and body["room"] == "sip-room-abc"
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert claims["iss"] == "APIkey" and claims["sub"] == f"secretary-{world.users['sec0']}" == body["identity"]
    video = claims["video"]
    assert video["room"] == "sip-room-abc" and video["roomJoin"] is True
    assert video["canPublish"] is True and video["canSubscribe"] is True
    assert not video.get("roomAdmin") and not video.get("roomCreate")
    assert claims["exp"] - claims["nbf"] <= 2 * 3600
    assert world.queue.entry(ticket).status == "connected"  # type: ignore[union-attr]


@pytest.mark.integration
def test_no_token_for_a_media_stream_call_or_without_livekit_settings(world: ConsoleWorld) -> None:
    ticket = world.enqueue(0)
    holder = _logged_in(world, "sec0")
    assert holder.post(f"/api/tickets/{ticket}/claim").status_code == 200
    assert holder.get(f"/api/tickets/{ticket}/livekit-token").status_code == 404  # no room: not a LiveKit call
    world.app.state.live_rooms.publish(ticket, "room")
    world.app.state.settings = world.app.state.settings.model_copy(update={"livekit_url": ""})
    assert holder.get(f"/api/tickets/{ticket}/livekit-token").status_code == 503


@pytest.mark.integration
def test_redis_room_directory(shared_redis: Redis) -> None:  # noqa: F811
    rooms = RedisRoomDirectory(shared_redis, QueueKeys(prefix="test:rooms"))
    rooms.publish("c9", "room-9")
    assert rooms.room_for("c9") == "room-9" and 0 < shared_redis.ttl("test:rooms:livekit-room:c9") <= 4 * 3600
    rooms.forget("c9")
    assert rooms.room_for("c9") is None


@pytest.mark.unit
def test_a_number_said_in_words_is_kept_for_the_callback() -> None:
    from agent.handoff import spoken_phone_number

    said = "rappelez-moi au zéro six douze trente-quatre cinquante-six soixante-dix-huit demain"
    assert spoken_phone_number(said, "fr") == "0612345678"
    assert spoken_phone_number("06 12 34 56 78", "fr") == "0612345678"
    assert spoken_phone_number("demain matin vers dix heures", "fr") == ""
