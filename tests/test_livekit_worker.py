"""The LiveKit worker (`python -m agent start`) with a fake room: caller attributes, the shared call, hang-ups.

No LiveKit server can run here: the job context and the room are fakes, and RoomIO is replaced by in-memory
audio I/O; everything above it (session, VAD, triage, persistence, DTMF, how the call ends) is the real code.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import AgentSession, AutoSubscribe
from livekit.agents.voice.events import CloseReason
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent import worker
from agent.call_runner import CallOptions
from agent.call_store import SqlCallStore
from agent.caller_voice import say_mulaw
from agent.reception_agent import ReceptionServices
from agent.tools.context import MemoryTickets
from agent.transports.livekit_room import CALLER_KINDS, caller_from, room_options, run_room_call
from agent.transports.media_stream import split_frames
from agent.transports.media_stream_io import MediaStreamAudioInput, MediaStreamAudioOutput
from practice.db import make_engine, migrate
from practice.demo import DEMO_SLUG, seed_demo
from practice.models import Call, Practice, Turn
from tests.test_gateway import SILENCE, stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
SIP_ATTRIBUTES = {"sip.phoneNumber": "+33612345678", "sip.callID": "SCL_abc123", "sip.trunkPhoneNumber": "+33478123456"}


# --- fakes of LiveKit ------------------------------------------------------------------------------------------


@dataclass
class FakeParticipant:
    identity: str = "sip_+33612345678"
    attributes: dict[str, str] = field(default_factory=lambda: dict(SIP_ATTRIBUTES))
    sid: str = "PA_fake"


class FakeRoom:
    """The room's event surface the transport uses (`on`/`off`, `name`)."""

    name = "call-_+33612345678_fake"

    def __init__(self) -> None:
        self.handlers: dict[str, list[Callable[..., None]]] = {}

    def on(self, event: str, handler: Callable[..., None]) -> None:
        self.handlers.setdefault(event, []).append(handler)

    def off(self, event: str, handler: Callable[..., None]) -> None:
        self.handlers[event].remove(handler)

    def emit(self, event: str, arg: Any) -> None:
        for handler in list(self.handlers.get(event, [])):
            handler(arg)


class FakeJob:
    """A `JobContext` with a fake room: records what the transport asked of LiveKit."""

    def __init__(self, participant: FakeParticipant, *, metadata: str = "") -> None:
        self.room = FakeRoom()
        self.participant = participant
        self.connected_with: AutoSubscribe | None = None
        self.waited_for: Any = None
        self.deleted = 0
        self.shutdown_reason = ""
        self.job = type("Job", (), {"metadata": metadata})()
        self.proc = type("Proc", (), {"userdata": {}})()

    async def connect(self, *, auto_subscribe: AutoSubscribe = AutoSubscribe.SUBSCRIBE_ALL) -> None:
        self.connected_with = auto_subscribe

    async def wait_for_participant(self, *, identity: str | None = None, kind: Any = None) -> Any:
        self.waited_for = kind
        return self.participant

    def delete_room(self, room_name: str | None = None) -> asyncio.Future[None]:
        self.deleted += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def shutdown(self, reason: str = "") -> None:
        self.shutdown_reason = reason


class InMemoryRoomIO:
    """Stands in for RoomIO: `AgentSession.start(room=...)` gets in-memory audio instead of WebRTC tracks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.audio_in = MediaStreamAudioInput()
        self.sent: list[str] = []
        self.audio_out = MediaStreamAudioOutput(self._capture, "room", max_lead_s=None, ack_grace_s=0.05)
        self.started: dict[str, Any] = {}
        self.session: AgentSession[None] | None = None
        original = AgentSession.start

        async def start(session: AgentSession[None], agent: Any, *, room: Any = None, room_options: Any = None,
                        **_: Any) -> Any:
            self.started = {"room": room, "room_options": room_options}
            self.session = session
            session.input.audio = self.audio_in
            session.output.audio = self.audio_out
            return await original(session, agent)

        monkeypatch.setattr(AgentSession, "start", start)

    async def _capture(self, message: str) -> None:
        self.sent.append(message)

    def marks(self) -> int:
        return sum('"event":"mark"' in m for m in self.sent)

    async def until_marks(self, n: int, timeout: float = 20) -> None:
        async with asyncio.timeout(timeout):
            while self.marks() < n:
                await asyncio.sleep(0.05)

    async def say(self, text: str) -> None:
        for frame in split_frames(say_mulaw(text)) + [SILENCE] * 60:
            await self.audio_in.push(frame)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'worker.db'}")
    migrate(engine)
    seed_demo(engine, today=date(2026, 11, 24))
    yield engine
    engine.dispose()


def _rows(db: Engine) -> tuple[Call, list[Turn], str]:
    with Session(db) as session:
        [call] = session.exec(select(Call)).all()
        turns = list(session.exec(select(Turn).where(Turn.call_id == call.id).order_by(Turn.seq)))  # type: ignore[arg-type]
        practice = session.get(Practice, call.practice_id)
        return call, turns, practice.slug if practice else ""


# --- the caller, from the SIP participant ----------------------------------------------------------------------


def test_the_caller_comes_from_the_sip_attributes_and_the_dispatch_metadata() -> None:
    participant = FakeParticipant(attributes={**SIP_ATTRIBUTES, "permanence.practice": "cabinet-a"})
    caller = caller_from(participant, json.dumps({"practice": "ignored", "language": "en"}))  # type: ignore[arg-type]
    assert (caller.number, caller.practice, caller.language, caller.call_ref) == ("+33612345678", "cabinet-a", "en",
                                                                                "SCL_abc123")
    browser = caller_from(FakeParticipant(identity="web-1", attributes={}), "not json")  # type: ignore[arg-type]
    assert (browser.number, browser.practice, browser.language, browser.call_ref) == ("", None, "fr", "PA_fake")
    odd = caller_from(FakeParticipant(attributes={"permanence.language": "de"}), "[1]")  # type: ignore[arg-type]
    assert odd.language == "fr"


def test_room_io_is_linked_to_the_caller_and_closes_when_the_caller_hangs_up() -> None:
    options = room_options("sip_+33612345678")
    assert options.participant_identity == "sip_+33612345678" and options.close_on_disconnect
    assert options.participant_kinds == CALLER_KINDS
    assert rtc.ParticipantKind.PARTICIPANT_KIND_SIP in CALLER_KINDS
    assert options.text_input is False
    audio_in = options.get_audio_input_options()
    assert audio_in is not None and audio_in.sample_rate == 16000


# --- one call through the worker's entry point ---------------------------------------------------------------------


async def test_a_sip_caller_is_answered_heard_and_recorded(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    room_io = InMemoryRoomIO(monkeypatch)
    participant = FakeParticipant()
    job = FakeJob(participant, metadata=json.dumps({"practice": DEMO_SLUG}))
    job.proc.userdata.update(stack=stack(), engine=db)
    task = asyncio.create_task(worker.entrypoint(job))  # type: ignore[arg-type]
    await room_io.until_marks(1)  # the greeting
    assert job.connected_with == AutoSubscribe.AUDIO_ONLY and job.waited_for == CALLER_KINDS
    assert room_io.started["room"] is job.room
    assert room_io.started["room_options"].participant_identity == participant.identity
    await room_io.say("Bonjour, je voudrais un rendez-vous.")
    await room_io.until_marks(2)  # the answer
    job.room.emit("sip_dtmf_received", rtc.SipDTMF(code=5, digit="5", participant=participant))  # type: ignore[arg-type]
    job.room.emit("sip_dtmf_received", rtc.SipDTMF(code=6, digit="6", participant=None))  # not the caller's
    assert room_io.session is not None
    room_io.session._close_soon(reason=CloseReason.PARTICIPANT_DISCONNECTED)  # what RoomIO does on hang-up
    await asyncio.wait_for(task, 15)
    call, turns, practice = _rows(db)
    assert call.caller_number == "+33612345678" and practice == DEMO_SLUG
    assert call.outcome == "completed" and call.ended_at is not None
    assert sorted(t.speaker for t in turns) == ["agent", "agent", "caller", "dtmf"]
    [caller] = [t for t in turns if t.speaker == "caller"]
    assert caller.text == "je voudrais prendre rendez-vous" and caller.triage is not None
    assert [t.text for t in turns if t.speaker == "dtmf"] == ["5"]
    assert job.deleted == 0 and job.shutdown_reason == "call ended"


async def test_the_worker_path_runs_the_real_dialog_engine(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same reception services as `permanence serve`: a booking request is answered with free slots."""
    room_io = InMemoryRoomIO(monkeypatch)
    voice = stack()
    voice.reception = ReceptionServices(db=db, tickets=MemoryTickets()).warm()
    job = FakeJob(FakeParticipant(), metadata=json.dumps({"practice": DEMO_SLUG}))
    task = asyncio.create_task(run_room_call(job, stack=voice, store=SqlCallStore(db)))  # type: ignore[arg-type]
    await room_io.until_marks(1)
    await room_io.say("Bonjour, je voudrais un rendez-vous.")
    await room_io.until_marks(2)
    await asyncio.sleep(0.5)  # the answer is recorded once it has played
    assert room_io.session is not None
    room_io.session._close_soon(reason=CloseReason.PARTICIPANT_DISCONNECTED)
    summary = await asyncio.wait_for(task, 15)
    answers = [t.text for t in summary.turns if t.speaker == "agent"]
    assert any("proposer" in text for text in answers), answers


async def test_the_agent_hangs_up_on_a_silent_caller_by_deleting_the_room(db: Engine,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    InMemoryRoomIO(monkeypatch)
    job = FakeJob(FakeParticipant())
    options = CallOptions(user_away_timeout_s=0.8, no_input_prompts=1)
    summary = await asyncio.wait_for(run_room_call(job, stack=stack(), store=SqlCallStore(db), options=options), 30)  # type: ignore[arg-type]
    assert summary.outcome == "abandoned" and not summary.escalated
    assert summary.stats["transport"] == "livekit"
    assert job.deleted == 1 and job.shutdown_reason == "call ended"
    assert [t.speaker for t in summary.turns] == ["agent", "agent", "agent"]  # greeting, prompt, goodbye


async def test_a_failing_voice_escalates_and_ends_the_room_call(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    InMemoryRoomIO(monkeypatch)
    job = FakeJob(FakeParticipant())
    summary = await asyncio.wait_for(run_room_call(job, stack=stack(tts_fail=True), store=SqlCallStore(db)), 30)  # type: ignore[arg-type]
    assert summary.outcome == "escalated" and summary.escalation_reason == "tts_error_failure"
    assert job.deleted == 1


# --- the worker process ----------------------------------------------------------------------------------------------


def test_worker_options_wire_the_entrypoint_and_the_prewarm() -> None:
    options = worker.worker_options()
    assert options.entrypoint_fnc is worker.entrypoint and options.prewarm_fnc is worker.prewarm
    assert options.agent_name == "permanence-reception"
    assert options.initialize_process_timeout >= 60


def test_prewarm_loads_the_models_and_the_dialog_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERMANENCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    proc = type("Proc", (), {"userdata": {}})()
    worker.prewarm(proc)
    warm = proc.userdata["stack"]
    assert warm.vad is not None and warm.triage is not None
    assert warm.make_stt("fr") is not None and warm.make_tts("fr").sample_rate == 8000
    assert str(proc.userdata["engine"].url).endswith("w.db")
    assert warm.reception is not None and warm.reception.classifier is not None, "the dialog engine, warmed"
    assert warm.reception.make_dialog is None, "no LLM_BASE_URL: the offline engine alone"
    assert warm.live_rooms is not None, "the console finds each call's room for the hand-off"


@pytest.mark.parametrize("args", [["--help"], ["start", "--help"]])
def test_python_m_agent_cli_answers(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert ("start" in done.stdout) and ("--url" in done.stdout or "Commands" in done.stdout)
