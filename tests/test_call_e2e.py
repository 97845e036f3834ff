"""Whole calls through the real pipeline: synthesised speech → WebSocket → VAD → Whisper → triage → TTS → back."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent.call_command import SummaryInbox, serving
from agent.call_runner import CallOptions, CallRunner, VoiceStack
from agent.call_state import CallSummary
from agent.call_store import SqlCallStore
from agent.caller_voice import say_mulaw
from agent.phone_client import CallerTurn, PhoneCallResult, PhoneClient
from agent.voice_stack import StackConfig, build_voice_stack
from console.app import create_app
from practice.db import make_engine, migrate
from practice.demo import DEMO_SLUG, seed_demo
from practice.models import Call, Turn
from practice.settings import Settings

pytestmark = pytest.mark.audio

EMERGENCY_FR = "mon mari a une douleur dans la poitrine qui serre très fort"
EMERGENCY_EN = "My husband has a crushing pain in his chest."


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("permanence-data")


@pytest.fixture(scope="module")
def voice(data_dir: Path) -> VoiceStack:
    return build_voice_stack(StackConfig(data_dir=data_dir))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'e2e.db'}")
    migrate(engine)
    seed_demo(engine, today=date(2026, 11, 24))
    yield engine
    engine.dispose()


async def place_call(db: Engine, voice: VoiceStack, turns: list[CallerTurn], *, speed: float,
                     language: str = "fr") -> tuple[PhoneCallResult, CallSummary]:
    inbox = SummaryInbox()
    runner = CallRunner(stack=voice, store=SqlCallStore(db), on_call_end=inbox.put,
                        options=CallOptions(clock_speed=speed))
    settings = Settings(_env_file=None, PERMANENCE_DEMO=True)
    app = create_app(settings=settings, engine=db, redis=Redis.from_url("redis://127.0.0.1:6379/15"),
                     call_handler=runner)
    with serving(app) as base:
        client = PhoneClient(f"{base}/media-stream", speed=speed, caller="+33611223344", practice=DEMO_SLUG,
                             language=language)
        result = await client.call(turns)
        summary = await asyncio.to_thread(inbox.wait, result.stream_sid, 20)
    assert summary is not None
    return result, summary


def db_turns(db: Engine, call_id: str) -> list[Turn]:
    with Session(db) as session:
        return list(session.exec(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq)))  # type: ignore[arg-type]


def db_call(db: Engine, call_id: str) -> Call:
    with Session(db) as session:
        call = session.get(Call, call_id)
        assert call is not None
        return call


async def test_french_call_is_heard_answered_and_recorded(db: Engine, voice: VoiceStack) -> None:
    turns = [
        CallerTurn(mulaw=say_mulaw("Bonjour, je voudrais prendre rendez-vous avec le docteur Martin.")),
        CallerTurn(dtmf="1"),
        CallerTurn(mulaw=say_mulaw("Je voudrais annuler mon rendez-vous de demain.")),
    ]
    result, summary = await place_call(db, voice, turns, speed=3.0)
    assert result.greeting_audio_s > 3.0  # the greeting names the practice and says it is automated
    spoken = [t for t in result.turns if t.speech_end]
    assert len(spoken) == 2 and all(t.voice_to_voice_ms is not None for t in spoken)
    assert all(t.agent_audio_s > 0.5 for t in spoken)
    call = db_call(db, summary.call_id)
    assert call.outcome == "completed" and call.caller_number == "+33611223344" and call.ended_at
    rows = db_turns(db, summary.call_id)
    assert "Maison de santé des Tilleuls" in rows[0].text and "automatique" in rows[0].text
    callers = [t for t in rows if t.speaker == "caller"]
    assert len(callers) >= 2 and all(t.text.strip() for t in callers)
    assert all(t.triage and t.triage["level"] in ("routine", "urgent", "emergency") for t in callers)
    assert all(t.stt_confidence is not None for t in callers)
    assert any(t.voice_to_voice_ms for t in callers)
    assert [t.text for t in rows if t.speaker == "dtmf"] == ["1"]
    assert sum(t.speaker == "agent" and t.text == "Très bien, je note votre demande." for t in rows) >= 2


async def test_english_emergency_reaches_the_guard_and_the_caller_is_told_to_dial_15(
    db: Engine, voice: VoiceStack
) -> None:
    turns = [CallerTurn(mulaw=say_mulaw(EMERGENCY_EN, "en"))]
    result, summary = await place_call(db, voice, turns, speed=3.0, language="en")
    assert summary.outcome == "escalated" and summary.triage_level == "emergency"
    [caller] = [t for t in summary.turns if t.speaker == "caller"]
    assert "chest" in caller.text.lower() and caller.triage and caller.triage["action"] == "advise_15"
    agent_lines = [t.text for t in summary.turns if t.speaker == "agent"]
    assert any("call 15" in line for line in agent_lines)
    assert not any(line == "All right, I have noted your request." for line in agent_lines)  # no dialog
    assert result.turns[0].agent_audio_s > 3.0
    assert db_call(db, summary.call_id).escalated


@pytest.mark.xfail(strict=True, reason="Whisper base mis-hears espeak-ng French for this sentence "
                   "('Il y a un tourneur...'): the guard runs but sees no red flag. Remove once STT improves.")
async def test_french_emergency_sentence_is_told_to_dial_15(db: Engine, voice: VoiceStack) -> None:
    turns = [CallerTurn(mulaw=say_mulaw(EMERGENCY_FR))]
    _, summary = await place_call(db, voice, turns, speed=3.0)
    [caller] = [t for t in summary.turns if t.speaker == "caller"]
    assert caller.triage is not None  # the guard ran on the transcript
    assert summary.triage_level == "emergency"
    assert any("le 15" in t.text for t in summary.turns if t.speaker == "agent")


async def test_real_time_call_latency(db: Engine, voice: VoiceStack) -> None:
    turns = [CallerTurn(mulaw=say_mulaw("Bonjour, je voudrais un rendez-vous pour ma fille."))]
    result, summary = await place_call(db, voice, turns, speed=1.0)
    latency = result.turns[0].voice_to_voice_ms
    assert latency is not None and 300 < latency < 4000
    [caller] = [t for t in summary.turns if t.speaker == "caller"]
    assert caller.voice_to_voice_ms is not None and abs(caller.voice_to_voice_ms - latency) < 500


def test_permanence_call_json(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "agent.wav"
    env = {**os.environ, "PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    proc = subprocess.run(
        [sys.executable, "-m", "console", "call", "--demo", "--speed", "4", "--json", "--caller", "0611223344",
         "--say", "Bonjour, je voudrais un rendez-vous.", "--out-audio", str(out)],
        capture_output=True, text=True, timeout=240, env=env, cwd=Path(__file__).parent.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, Any] = json.loads(proc.stdout)
    assert {"outcome", "turns", "ticket", "appointment"} <= set(report)
    assert report["ticket"] is None and report["appointment"] is None
    [turn] = report["turns"]
    assert {"caller_transcript", "agent_text", "voice_to_voice_ms", "triage"} <= set(turn)
    assert turn["caller_transcript"] and turn["agent_text"] and turn["voice_to_voice_ms"] > 0
    assert turn["triage"]["level"] == "routine"
    assert out.stat().st_size > 8000 * 2 * 3  # several seconds of agent audio
    assert uuid.UUID(hex=report["call_id"])
