"""`permanence call`: one simulated phone call through the real pipeline over the real WebSocket, in-process."""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.engine import Engine

from agent.audio import pcm16_from_bytes, write_wav
from agent.call_runner import CallOptions, CallRunner
from agent.call_state import CallSummary
from agent.call_store import SqlCallStore, TurnRecord
from agent.caller_voice import say_mulaw, wav_mulaw
from agent.llm_choice import RemoteLLMConfig, dialog_factory
from agent.phone_client import CallerTurn, PhoneCallResult, PhoneClient, TurnTiming
from agent.reception_agent import ReceptionServices
from agent.tools.context import StoredTickets, TicketSink
from agent.transports.media_stream import MULAW_RATE
from agent.voice_stack import StackConfig, build_voice_stack
from escalation.threshold_store import ThresholdStore
from escalation.ticket_store import TicketStore
from practice.db import make_engine, migrate
from practice.settings import Settings

AppFactory = Callable[[Engine, CallRunner], Any]


@dataclass(frozen=True)
class CallRequest:
    """The command line of `permanence call`."""

    turns: list[tuple[str, str]]
    as_json: bool = False
    out_audio: Path | None = None
    demo: bool = False
    caller: str = ""
    speed: float = 1.0
    language: str = "fr"
    now: datetime | None = None  # the dialog's clock (tests: after hours, holidays); None: the real time


def ordered_turns(argv: Sequence[str], say: Sequence[str], audio: Sequence[Path]) -> list[tuple[str, str]]:
    """Caller turns as ("say", text) / ("audio", path) in command-line order (say first if unknowable)."""
    says, audios, found = list(say), [str(a) for a in audio], []
    tokens = list(argv)
    for i, token in enumerate(tokens):
        kind, value = _option_value(token, tokens[i + 1] if i + 1 < len(tokens) else None)
        if kind == "say" and says and value == says[0]:
            found.append(("say", says.pop(0)))
        elif kind == "audio" and audios and value is not None and Path(value) == Path(audios[0]):
            found.append(("audio", audios.pop(0)))
    return found + [("say", s) for s in says] + [("audio", a) for a in audios]


def _option_value(token: str, following: str | None) -> tuple[str, str | None]:
    for kind in ("say", "audio"):
        if token == f"--{kind}":
            return kind, following
        if token.startswith(f"--{kind}="):
            return kind, token.split("=", 1)[1]
    return "", None


def caller_audio(turns: list[tuple[str, str]], language: str) -> list[CallerTurn]:
    """Each turn as 8 kHz μ-law: text synthesised with espeak-ng, WAV files converted."""
    return [CallerTurn(mulaw=say_mulaw(v, language) if k == "say" else wav_mulaw(v), label=v) for k, v in turns]


# --- the in-process server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Any:
    """Run `app` with uvicorn on a free 127.0.0.1 port in a background thread; yields the base ws:// URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="permanence-call-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("the in-process server did not start")
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class SummaryInbox:
    """Thread-safe hand-over of finished calls from the server thread."""

    def __init__(self) -> None:
        self._summaries: dict[str, CallSummary] = {}
        self._cond = threading.Condition()

    def put(self, summary: CallSummary) -> None:
        with self._cond:
            self._summaries[summary.stream_sid] = summary
            self._cond.notify_all()

    def wait(self, stream_sid: str, timeout: float) -> CallSummary | None:
        with self._cond:
            self._cond.wait_for(lambda: stream_sid in self._summaries, timeout)
            return self._summaries.get(stream_sid)


# --- the command --------------------------------------------------------------------------------------------


@dataclass
class CallReport:
    """What `permanence call` prints."""

    outcome: str
    call_id: str | None
    greeting: str
    turns: list[dict[str, Any]] = field(default_factory=list)
    escalated: bool = False
    triage_level: str = "routine"
    dtmf: list[str] = field(default_factory=list)
    ticket: dict[str, Any] | None = None
    appointment: dict[str, Any] | None = None
    speed: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "call_id": self.call_id, "greeting": self.greeting, "turns": self.turns,
                "escalated": self.escalated, "triage_level": self.triage_level, "dtmf": self.dtmf,
                "ticket": self.ticket, "appointment": self.appointment,
                "median_voice_to_voice_ms": median_latency(self.turns), "speed": self.speed}


def median_latency(turns: list[dict[str, Any]]) -> int | None:
    values = [t["voice_to_voice_ms"] for t in turns if t.get("voice_to_voice_ms") is not None]
    return round(statistics.median(values)) if values else None


def build_report(labels: list[str], result: PhoneCallResult, summary: CallSummary | None) -> CallReport:
    """Pair each caller turn with what the server heard, decided and answered in its time window."""
    records = summary.turns if summary else []
    first = result.turns[0].started_at if result.turns else float("inf")
    greeting = " ".join(r.text for r in records if r.speaker == "agent" and r.at.timestamp() < first)
    report = CallReport(outcome=summary.outcome if summary else "unknown", call_id=summary.call_id if summary else None,
                        greeting=greeting, escalated=bool(summary and summary.escalated),
                        triage_level=summary.triage_level if summary else "routine",
                        dtmf=list(summary.dtmf) if summary else [],
                        ticket=summary.ticket if summary else None,
                        appointment=summary.appointment if summary else None)
    for i, timing in enumerate(result.turns):
        end = result.turns[i + 1].started_at if i + 1 < len(result.turns) else float("inf")
        window = [r for r in records if timing.started_at <= r.at.timestamp() < end]
        report.turns.append(_turn_entry(labels[i] if i < len(labels) else "", timing, window))
    return report


def _turn_entry(label: str, timing: TurnTiming, window: list[TurnRecord]) -> dict[str, Any]:
    caller = [r for r in window if r.speaker == "caller"]
    triage = next((r.triage for r in reversed(caller) if r.triage), None)
    return {
        "caller_text": label,
        "caller_transcript": " ".join(r.text for r in caller),
        "agent_text": " ".join(r.text for r in window if r.speaker == "agent"),
        "voice_to_voice_ms": timing.voice_to_voice_ms,
        "server_voice_to_voice_ms": next((r.voice_to_voice_ms for r in caller if r.voice_to_voice_ms), None),
        "stt_confidence": caller[-1].stt_confidence if caller else None,
        "triage": triage,
    }


def _engine(request: CallRequest, settings: Settings, workdir: Path) -> tuple[Engine, str]:
    """The configured database, or a fresh temporary copy of the demo practice."""
    if not request.demo:
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        return engine, ""
    from practice.demo import DEMO_SLUG, seed_demo

    engine = make_engine(f"sqlite:///{workdir / 'demo.db'}")
    migrate(engine)
    seed_demo(engine, today=date.today())
    return engine, DEMO_SLUG


def reception_services(engine: Engine, settings: Settings, *, demo: bool, now: datetime | None) -> ReceptionServices:
    """The dialog's services: tickets to the live queue, or only to the temporary database of a `--demo` call."""
    tickets: TicketSink = StoredTickets(TicketStore(engine))
    if not demo:
        from redis import Redis

        from escalation.queue import HumanQueue

        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        tickets = HumanQueue(redis, TicketStore(engine))
    store = ThresholdStore(engine)
    services = ReceptionServices(db=engine, tickets=tickets,
                                 make_dialog=dialog_factory(RemoteLLMConfig.from_settings(settings)),
                                 thresholds_for=lambda practice_id: store.active(practice_id)[1])
    if now is not None:
        services.clock = lambda: now
    return services.warm()


def run_call(
    request: CallRequest, *, settings: Settings, app_factory: AppFactory, stack_config: StackConfig | None = None,
    admit: Callable[[Mapping[str, str]], bool] | None = None, token: str = "",
) -> CallReport:
    """Place the call and return its report (writes `--out-audio` if asked); `token` is what `admit` checks."""
    turns = caller_audio(request.turns, request.language)
    with tempfile.TemporaryDirectory(prefix="permanence-call-") as tmp:
        engine, practice = _engine(request, settings, Path(tmp))
        inbox = SummaryInbox()
        stack = build_voice_stack(stack_config or StackConfig(
            data_dir=settings.data_dir, whisper_model=settings.whisper_model, piper_voice=settings.piper_voice))
        stack.reception = reception_services(engine, settings, demo=request.demo, now=request.now)
        runner = CallRunner(stack=stack, store=SqlCallStore(engine), on_call_end=inbox.put, admit=admit,
                            options=CallOptions(clock_speed=request.speed, language=request.language))
        with serving(app_factory(engine, runner)) as base:
            client = PhoneClient(f"{base}/media-stream", speed=request.speed, caller=request.caller,
                                 practice=practice, language=request.language, token=token)
            result = asyncio.run(client.call(turns))
            summary = inbox.wait(result.stream_sid, timeout=20)
        engine.dispose()
    if request.out_audio is not None:
        write_wav(request.out_audio, pcm16_from_bytes(result.agent_pcm16()), MULAW_RATE)
    report = build_report([t.label for t in turns], result, summary)
    report.speed = request.speed
    return report


def render_text(report: CallReport) -> str:
    """The conversation as a person reads it."""
    lines = [f"Agent    : {report.greeting}"] if report.greeting else []
    for turn in report.turns:
        heard = turn["caller_transcript"] or "(nothing understood)"
        lines.append(f"Caller   : {heard}   [said: {turn['caller_text']}]")
        level = (turn["triage"] or {}).get("level", "-")
        lines.append(f"Agent    : {turn['agent_text'] or '(no answer)'}   [triage {level}, "
                     f"voice-to-voice {turn['voice_to_voice_ms']} ms]")
    lines.append(f"Outcome  : {report.outcome}" + ("  (escalated)" if report.escalated else ""))
    lines.append(f"Ticket   : {json.dumps(report.ticket) if report.ticket else 'none'}")
    note = "" if report.speed == 1.0 else f"  (audio streamed at {report.speed:g}× real time: not a real-time figure)"
    lines.append(f"Latency  : median voice-to-voice {median_latency(report.turns)} ms{note}")
    return "\n".join(lines)
