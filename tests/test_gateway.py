"""The /media-stream gateway on a real server with a real WebSocket client: bad input, drops, persisted calls."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit.agents import APIConnectionError, stt, tts
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.agents.utils import AudioBuffer
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent.call_command import SummaryInbox, serving
from agent.call_runner import CallOptions, CallRunner, VoiceStack
from agent.call_state import CallSummary
from agent.call_store import SqlCallStore
from agent.caller_voice import say_mulaw
from agent.minimal_dialog import AcknowledgeLLM
from agent.transports.media_stream import CarrierMessages, OutboundMark, StreamLimits, parse_outbound, split_frames
from agent.voice_stack import load_vad
from console.app import create_app
from console.media_admission import MediaStreamAdmission
from escalation.triage import TriageEngine
from practice.db import make_engine, migrate
from practice.demo import seed_demo
from practice.models import Call, Turn
from practice.settings import Settings

pytestmark = pytest.mark.integration

SILENCE = b"\xff" * 160


# --- fakes for the slow models (the VAD, triage, session and transport are real) --------------------------


class FixedSTT(stt.STT[Any]):
    """Hears the same sentence in every utterance, or fails."""

    def __init__(self, text: str = "je voudrais prendre rendez-vous", *, fail: bool = False) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self.text, self.fail, self.calls = text, fail, 0

    async def _recognize_impl(
        self, buffer: AudioBuffer, *, language: NotGivenOr[str] = NOT_GIVEN, conn_options: APIConnectOptions
    ) -> stt.SpeechEvent:
        self.calls += 1
        if self.fail:
            raise APIConnectionError("stt down", retryable=False)
        data = stt.SpeechData(language=LanguageCode("fr"), text=self.text, confidence=0.9)
        return stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives=[data])


class ToneTTS(tts.TTS[Any]):
    """A tone per reply at 8 kHz (0.3 s unless told), or a failure."""

    def __init__(self, *, fail: bool = False, seconds: float = 0.3) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=8000, num_channels=1)
        self.fail, self.seconds = fail, seconds

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> Any:
        return _ToneStream(tts=self, input_text=text, conn_options=conn_options)


class _ToneStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        assert isinstance(self._tts, ToneTTS)
        if self._tts.fail:
            raise APIConnectionError("tts down", retryable=False)
        output_emitter.initialize(request_id=uuid.uuid4().hex, sample_rate=8000, num_channels=1,
                                  mime_type="audio/pcm")
        n = int(self._tts.seconds * 8000)
        tone = (np.sin(np.arange(n) / 8000 * 2 * np.pi * 440) * 5000).astype(np.int16)
        output_emitter.push(tone.tobytes())
        output_emitter.flush()


def stack(*, stt_fail: bool = False, tts_fail: bool = False, tts_seconds: float = 0.3) -> VoiceStack:
    return VoiceStack(vad=load_vad(0.5), make_stt=lambda lang: FixedSTT(fail=stt_fail),
                      make_tts=lambda lang: ToneTTS(fail=tts_fail, seconds=tts_seconds), triage=TriageEngine.default(),
                      make_llm=lambda lang: AcknowledgeLLM(lang=lang))


# --- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    migrate(engine)
    seed_demo(engine, today=date(2026, 11, 24))
    yield engine
    engine.dispose()


class Server:
    def __init__(self, url: str, inbox: SummaryInbox) -> None:
        self.url, self.inbox = url, inbox


def start_server(db: Engine, runner_stack: VoiceStack | None, options: CallOptions | None = None, *,
                 settings: Settings | None = None) -> Any:
    """The console app serving the runner; with `settings`, the runner admits calls as `permanence serve` does."""
    inbox = SummaryInbox()
    runner = None
    admit = MediaStreamAdmission.from_settings(settings) if settings is not None else None
    if runner_stack is not None:
        runner = CallRunner(stack=runner_stack, store=SqlCallStore(db), on_call_end=inbox.put, admit=admit,
                            options=options or CallOptions(playout_lead_s=None, start_timeout_s=2.0))
    settings = settings or Settings(_env_file=None, PERMANENCE_DEMO=True)
    app = create_app(settings=settings, engine=db, redis=Redis.from_url("redis://127.0.0.1:6379/15"),
                     call_handler=runner)
    return serving(app), inbox


async def close_of(ws: ClientConnection, timeout: float = 10) -> tuple[int | None, str]:
    """Read until the server closes; its close code and reason."""
    try:
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    except ConnectionClosed:
        pass
    received = ws.protocol.close_rcvd
    return (received.code, received.reason) if received else (None, "")


async def until_mark(ws: ClientConnection, *, ack: bool = True, timeout: float = 15) -> str:
    """Read server messages until a mark (the end of an agent segment), acknowledging it like a carrier."""
    async with asyncio.timeout(timeout):
        async for raw in ws:
            event = parse_outbound(str(raw))
            if isinstance(event, OutboundMark):
                if ack:
                    await ws.send(json.dumps({"event": "mark", "streamSid": event.stream_sid,
                                              "mark": {"name": event.mark.name}}))
                return event.mark.name
    raise AssertionError("no mark")


def calls(db: Engine) -> list[Call]:
    with Session(db) as session:
        return list(session.exec(select(Call)))


def turns(db: Engine, call_id: str) -> list[Turn]:
    with Session(db) as session:
        return list(session.exec(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq)))  # type: ignore[arg-type]


async def wait_summary(inbox: SummaryInbox, sid: str) -> CallSummary:
    summary = await asyncio.to_thread(inbox.wait, sid, 15)
    assert summary is not None
    return summary


# --- tests ---------------------------------------------------------------------------------------------------


async def test_without_a_call_handler_the_gateway_answers_agent_unavailable(db: Engine) -> None:
    server, _ = start_server(db, None)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            assert await close_of(ws) == (1013, "agent unavailable")


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        ("this is not json", 1007, "malformed JSON"),
        (b"\x00\x01\x02", 1003, "binary frames are not part of the protocol"),
        ('{"event": "start", "start": {"streamSid": ""}}', 1007, "invalid start event"),
        ("x" * 100_000, 1009, "message too big"),
    ],
)
async def test_garbage_before_start_gets_a_clean_close(db: Engine, message: str | bytes, code: int,
                                                       reason: str) -> None:
    server, _ = start_server(db, stack())
    with server as base:
        async with connect(f"{base}/media-stream", max_size=None) as ws:
            await ws.send(message)
            assert await close_of(ws) == (code, reason)
    assert calls(db) == []


async def test_a_peer_that_never_starts_is_closed(db: Engine) -> None:
    server, _ = start_server(db, stack(), CallOptions(start_timeout_s=0.5))
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(CarrierMessages("MZ1").connected())
            assert await close_of(ws) == (1008, "no start event")


async def test_garbage_mid_call_closes_and_the_call_is_recorded(db: Engine) -> None:
    server, inbox = start_server(db, stack())
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.start({"caller": "+33612345678"}))
            await until_mark(ws)
            await ws.send("{{{{")
            assert await close_of(ws) == (1007, "malformed JSON")
        summary = await wait_summary(inbox, carrier.stream_sid)
    [call] = calls(db)
    assert call.outcome == "error" == summary.outcome
    assert call.caller_number == "+33612345678" and call.ended_at is not None


async def test_unknown_events_are_ignored_and_a_caller_turn_is_answered(db: Engine) -> None:
    server, inbox = start_server(db, stack())
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.connected())
            await ws.send(carrier.start({"caller": "0612345678", "practice": "msp-des-tilleuls"}))
            await until_mark(ws)  # the greeting
            await ws.send('{"event": "hologram", "payload": 1}')
            await ws.send(carrier.dtmf("7"))
            for frame in split_frames(say_mulaw("Bonjour, je voudrais un rendez-vous.")) + [SILENCE] * 60:
                await ws.send(carrier.media(frame))
            await until_mark(ws)  # the acknowledgement
            await ws.send(carrier.stop())
            assert (await close_of(ws))[0] == 1000
        summary = await wait_summary(inbox, carrier.stream_sid)
    assert summary.stats["ignored"] == {"unknown_event": 1}
    [call] = calls(db)
    assert call.outcome == "completed" and call.practice_id is not None
    rows = turns(db, call.id)
    assert sorted(t.speaker for t in rows) == ["agent", "agent", "caller", "dtmf"]
    [caller] = [t for t in rows if t.speaker == "caller"]
    assert caller.text == "je voudrais prendre rendez-vous" and caller.stt_confidence == pytest.approx(0.9)
    assert caller.triage is not None and caller.triage["level"] == "routine"
    assert caller.voice_to_voice_ms is not None and caller.voice_to_voice_ms < 5000
    assert rows[-1].speaker == "agent" and rows[-1].text == "Très bien, je note votre demande."


async def test_a_socket_dropped_mid_sentence_leaves_an_abandoned_call(db: Engine) -> None:
    server, inbox = start_server(db, stack())
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        ws = await connect(f"{base}/media-stream")
        await ws.send(carrier.start({"caller": "0698765432"}))
        await until_mark(ws)
        speech = split_frames(say_mulaw("Bonjour, je voudrais prendre un rendez-vous la semaine prochaine."))
        for frame in speech[: len(speech) // 2]:
            await ws.send(carrier.media(frame))
        ws.transport.abort()  # no stop, no close frame: the line just drops
        summary = await wait_summary(inbox, carrier.stream_sid)
    [call] = calls(db)
    assert call.outcome == "abandoned" == summary.outcome
    assert call.ended_at is not None and not call.escalated


async def test_a_failing_stt_gets_a_spoken_fallback_and_escalates(db: Engine) -> None:
    server, inbox = start_server(db, stack(stt_fail=True))
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.start())
            await until_mark(ws)
            for frame in split_frames(say_mulaw("Bonjour, je voudrais un rendez-vous.")) + [SILENCE] * 60:
                await ws.send(carrier.media(frame))
            await until_mark(ws)  # the technical fallback line
            code, reason = await close_of(ws)
        summary = await wait_summary(inbox, carrier.stream_sid)
    assert (code, reason) == (1011, "call handed over")
    assert summary.outcome == "escalated" and summary.escalation_reason == "stt_error_failure"
    assert any("problème technique" in t.text for t in summary.turns if t.speaker == "agent")
    assert calls(db)[0].escalated


async def test_a_failing_tts_hands_the_call_back_to_the_carrier(db: Engine) -> None:
    server, inbox = start_server(db, stack(tts_fail=True))
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.start())
            code, _ = await close_of(ws)
        summary = await wait_summary(inbox, carrier.stream_sid)
    assert code == 1011
    assert summary.outcome == "escalated" and summary.escalation_reason == "tts_error_failure"


async def test_a_flood_is_dropped_without_killing_the_server(db: Engine) -> None:
    limits = StreamLimits(max_speed=5.0, burst_s=2.0, max_dropped_s=3.0)
    server, inbox = start_server(db, stack(), CallOptions(limits=limits, playout_lead_s=None))
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.start())
            for _ in range(1000):  # 20 s of audio as fast as the socket takes it
                await ws.send(carrier.media(SILENCE))
            assert await close_of(ws) == (1008, "media flood")
        summary = await wait_summary(inbox, carrier.stream_sid)
        async with connect(f"{base}/media-stream") as ws:  # the next call is served
            await ws.send(CarrierMessages("MZ2").start())
            await until_mark(ws)
    assert summary.stats["dropped_frames"] > 0 and summary.outcome == "error"


async def test_a_caller_talking_over_the_agent_gets_a_clear(db: Engine) -> None:
    server, inbox = start_server(db, stack(tts_seconds=6.0), CallOptions(playout_lead_s=1.0, start_timeout_s=2.0))
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    events: list[str] = []
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.start())
            async with asyncio.timeout(15):
                async for raw in ws:  # the greeting starts: talk over it
                    if json.loads(raw)["event"] == "media":
                        break
            for frame in split_frames(say_mulaw("Allô, allô, excusez-moi, je vous interromps.")):
                await ws.send(carrier.media(frame))
                await asyncio.sleep(0.02)
            async with asyncio.timeout(15):
                async for raw in ws:
                    events.append(json.loads(raw)["event"])
                    if events[-1] == "clear":
                        break
            await ws.send(carrier.stop())
        await wait_summary(inbox, carrier.stream_sid)
    assert events[-1] == "clear"


async def test_a_caller_who_never_speaks_is_prompted_then_hung_up_on(db: Engine) -> None:
    options = CallOptions(playout_lead_s=None, user_away_timeout_s=0.8, start_timeout_s=2.0)
    server, inbox = start_server(db, stack(), options)
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.start())
            for _ in range(3):  # greeting, "je ne vous entends pas", goodbye
                await until_mark(ws)
            assert (await close_of(ws))[0] == 1000
        summary = await wait_summary(inbox, carrier.stream_sid)
    agent = [t.text for t in summary.turns if t.speaker == "agent"]
    assert any("ne vous entends pas" in line for line in agent)
    assert any("raccrocher" in line for line in agent)
    assert summary.outcome == "abandoned"


# --- who may call: the carrier's token (start.customParameters), or a token the console signed -----------------

PRODUCTION = Settings(_env_file=None, PERMANENCE_DEMO=False, PERMANENCE_SECRET_KEY="gateway-test-secret",
                      MEDIA_STREAM_TOKEN="carrier-shared-token")


@pytest.mark.parametrize("token", [None, "", "wrong-token", "carrier-shared-token-and-more",
                                   MediaStreamAdmission(secret_key="another-secret").client_token(3)])
async def test_a_start_without_the_carrier_token_is_refused_before_any_call_exists(db: Engine,
                                                                                   token: str | None) -> None:
    server, _ = start_server(db, stack(), settings=PRODUCTION)
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    params = {"caller": "+33612345678"} | ({} if token is None else {"token": token})
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.connected())
            await ws.send(carrier.start(params))
            assert await close_of(ws) == (1008, "not authorised")
    assert calls(db) == []  # refused before the call opened: no greeting, no record


@pytest.mark.parametrize("who", ["carrier", "softphone"])
async def test_the_carrier_token_or_a_console_signed_token_opens_the_call(db: Engine, who: str) -> None:
    server, inbox = start_server(db, stack(), settings=PRODUCTION)
    with server as base:
        page_token = MediaStreamAdmission.from_settings(PRODUCTION).client_token(7)
        token = "carrier-shared-token" if who == "carrier" else page_token
        carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
        async with connect(f"{base}/media-stream") as ws:
            await ws.send(carrier.start({"caller": "+33612345678", "token": token}))
            await until_mark(ws)  # the greeting
            await ws.send(carrier.stop())
            assert (await close_of(ws))[0] == 1000
        await wait_summary(inbox, carrier.stream_sid)
    [call] = calls(db)
    assert call.caller_number == "+33612345678"


def test_admission_rules() -> None:
    signed = MediaStreamAdmission(secret_key="k")
    assert signed({"token": signed.client_token(1)}) and signed({"token": signed.client_token()})
    assert not signed({}) and not signed({"token": "k"})
    expired = MediaStreamAdmission(secret_key="k", max_age_s=-1)
    assert not expired({"token": signed.client_token(1)})
    demo = Settings(_env_file=None, PERMANENCE_DEMO=True, PERMANENCE_SECRET_KEY="k")
    assert MediaStreamAdmission.from_settings(demo)({})  # the demo without a carrier token: open
    with_token = MediaStreamAdmission.from_settings(demo.model_copy(update={"media_stream_token": "t"}))
    assert not with_token({}) and with_token({"token": "t"})
    production = MediaStreamAdmission.from_settings(Settings(_env_file=None, PERMANENCE_SECRET_KEY="k"))
    assert not production({}) and not production({"token": ""}) and not production.carrier_token_set
