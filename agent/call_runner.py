"""One media-stream connection → one `AgentSession` (VAD, Whisper, TTS, dialog) with the call persisted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from livekit.agents import AgentSession, llm, stt, tts, vad
from livekit.agents.types import APIConnectOptions
from livekit.agents.voice.agent_session import SessionConnectOptions
from livekit.agents.voice.events import CloseEvent, ConversationItemAddedEvent, ErrorEvent, UserStateChangedEvent
from livekit.agents.voice.io import PlaybackStartedEvent, TextOutput
from livekit.agents.voice.turn import TurnHandlingOptions

import prompts
from agent.call_state import CallState, CallSummary
from agent.call_store import CallStore
from agent.reception_agent import ReceptionAgent
from agent.transports.media_stream import (
    Audio,
    Close,
    CloseCode,
    Deliver,
    DtmfEvent,
    InboundStream,
    MarkEvent,
    StartEvent,
    StopEvent,
    StreamLimits,
)
from agent.transports.media_stream_io import MediaStreamAudioInput, MediaStreamAudioOutput
from agent.triage_guard import Triage

log = logging.getLogger(__name__)


class MessageSocket(Protocol):
    """A message-oriented socket (the console gateway adapts its WebSocket to this)."""

    async def receive(self) -> str | bytes | None:
        """The next message; None once the peer has gone."""
        ...

    async def send(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


def default_turn_handling() -> TurnHandlingOptions:
    """VAD-only endpointing and VAD barge-in: offline, no cloud turn detector."""
    return TurnHandlingOptions(
        turn_detection="vad",
        endpointing={"mode": "fixed", "min_delay": 0.3, "max_delay": 3.0},
        interruption={"mode": "vad", "min_duration": 0.4, "resume_false_interruption": False,
                      "false_interruption_timeout": None},
        preemptive_generation={"enabled": False},
    )


@dataclass
class VoiceStack:
    """The process-wide models a call needs (loaded once by the composition root)."""

    vad: vad.VAD
    make_stt: Callable[[str], stt.STT[Any]]
    make_tts: Callable[[str], tts.TTS[Any]]
    triage: Triage
    make_llm: Callable[[str], llm.LLM[Any]]
    turn_handling: TurnHandlingOptions = field(default_factory=default_turn_handling)


@dataclass(frozen=True)
class CallOptions:
    """Per-call behaviour of the runner."""

    limits: StreamLimits = field(default_factory=StreamLimits)
    start_timeout_s: float = 10.0
    language: str = "fr"
    playout_lead_s: float | None = 1.0
    clock_speed: float = 1.0
    user_away_timeout_s: float = 12.0
    no_input_prompts: int = 1
    close_timeout_s: float = 5.0


class _AgentText(TextOutput):
    """The agent's transcription sink: keeps the text of the segment being spoken (no content in logs)."""

    def __init__(self) -> None:
        super().__init__(label="MediaStreamTranscript", next_in_chain=None)
        self.current = ""
        self.segments = 0

    async def capture_text(self, text: str) -> None:
        self.current += text

    def flush(self) -> None:
        self.segments += 1
        self.current = ""


class CallRunner:
    """Runs calls: `await runner(socket)` serves one media-stream connection from `start` to hang-up."""

    def __init__(
        self,
        *,
        stack: VoiceStack,
        store: CallStore,
        options: CallOptions | None = None,
        on_call_end: Callable[[CallSummary], None] | None = None,
    ) -> None:
        self.stack = stack
        self.store = store
        self.options = options or CallOptions()
        self.on_call_end = on_call_end

    async def __call__(self, socket: MessageSocket) -> None:
        await self.run(socket)

    async def run(self, socket: MessageSocket) -> CallSummary | None:
        """Run one call from `start` to hang-up; None when the peer never started a stream."""
        stream = InboundStream(self.options.limits)
        start = await self._await_start(socket, stream)
        if start is None:
            return None
        call = await self._open_call(start)
        live = _LiveCall(self, socket, stream, call)
        try:
            await live.run()
        except Exception as exc:  # logged by type only: messages may quote what the caller said
            log.error("call failed", extra={"call_id": call.call_id, "error": type(exc).__name__,
                                            "where": _where(exc)})
            call.error = "internal"
            await _close_quietly(socket, CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            summary = await live.finish()
        if self.on_call_end is not None:
            self.on_call_end(summary)
        return summary

    async def _await_start(self, socket: MessageSocket, stream: InboundStream) -> StartEvent | None:
        try:
            return await asyncio.wait_for(self._read_until_start(socket, stream), self.options.start_timeout_s)
        except TimeoutError:
            log.info("media stream never started", extra=stream.stats.as_log_extra())
            await _close_quietly(socket, CloseCode.POLICY_VIOLATION, "no start event")
            return None

    async def _read_until_start(self, socket: MessageSocket, stream: InboundStream) -> StartEvent | None:
        while (raw := await socket.receive()) is not None:
            verdict = stream.feed(raw)
            if isinstance(verdict, Close):
                log.info("media stream refused before start", extra={"code": int(verdict.code),
                                                                        "reason": verdict.reason})
                await _close_quietly(socket, verdict.code, verdict.reason)
                return None
            if isinstance(verdict, Deliver) and isinstance(verdict.event, StartEvent):
                return verdict.event
        return None

    async def _open_call(self, start: StartEvent) -> CallState:
        params = start.start.custom_parameters
        caller = params.get("caller") or params.get("from") or ""
        practice = params.get("practice") or None
        language = params.get("language") or self.options.language
        return await CallState.open(store=self.store, stream_sid=start.start.stream_sid, practice_slug=practice,
                                    caller_number=caller, language=language if language in ("fr", "en") else "fr")


class _LiveCall:
    """The running parts of one call: socket pump, audio I/O, agent session, and how it ends."""

    def __init__(self, runner: CallRunner, socket: MessageSocket, stream: InboundStream, call: CallState) -> None:
        self.runner, self.socket, self.stream, self.call = runner, socket, stream, call
        opts = runner.options
        self.lang = call.language
        self.audio_in = MediaStreamAudioInput(queue_frames=opts.limits.queue_frames,
                                              enqueue_timeout_s=opts.limits.enqueue_timeout_s)
        self.audio_out = MediaStreamAudioOutput(self._send, call.stream_sid, max_lead_s=opts.playout_lead_s,
                                                clock_speed=opts.clock_speed)
        self.session: AgentSession[None] | None = None
        self.hangup = asyncio.Event()
        self.socket_open = True
        self._no_input_count = 0
        self._failed_over = False

    async def run(self) -> None:
        self.session = self._build_session()
        self.audio_out.on("playback_started", self._on_playback_started)
        agent = ReceptionAgent(call=self.call, triage=self.runner.stack.triage, lang=self.lang)
        await self.session.start(agent)
        pump = asyncio.create_task(self._pump(), name="media-stream-pump")
        hangup = asyncio.create_task(self.hangup.wait(), name="media-stream-hangup")
        done, _ = await asyncio.wait({pump, hangup}, return_when=asyncio.FIRST_COMPLETED)
        for task in (pump, hangup):
            if task not in done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if pump in done:
            pump.result()

    def _build_session(self) -> AgentSession[None]:
        stack, opts = self.runner.stack, self.runner.options
        session: AgentSession[None] = AgentSession(
            vad=stack.vad, stt=stack.make_stt(self.lang), tts=stack.make_tts(self.lang), llm=stack.make_llm(self.lang),
            turn_handling=stack.turn_handling, aec_warmup_duration=None,
            user_away_timeout=opts.user_away_timeout_s,
            conn_options=SessionConnectOptions(
                stt_conn_options=APIConnectOptions(max_retry=1, retry_interval=0.1, timeout=15.0),
                tts_conn_options=APIConnectOptions(max_retry=1, retry_interval=0.1, timeout=10.0),
                llm_conn_options=APIConnectOptions(max_retry=1, retry_interval=0.2, timeout=8.0),
                max_unrecoverable_errors=2,
            ),
        )
        session.input.audio = self.audio_in
        session.output.audio = self.audio_out
        session.output.transcription = _AgentText()
        session.on("conversation_item_added", self._on_item)
        session.on("error", self._on_error)
        session.on("user_state_changed", self._on_user_state)
        session.on("close", self._on_close)
        return session

    # -- socket → call ------------------------------------------------------------------------------------

    async def _pump(self) -> None:
        while (raw := await self.socket.receive()) is not None:
            verdict = self.stream.feed(raw)
            if isinstance(verdict, Audio):
                await self.audio_in.push(verdict.mulaw)
            elif isinstance(verdict, Deliver):
                if self._deliver(verdict.event):
                    return
            elif isinstance(verdict, Close):
                log.info("closing media stream", extra={"call_id": self.call.call_id, "code": int(verdict.code),
                                                        "reason": verdict.reason})
                self.call.error = verdict.reason
                await self._close(verdict.code, verdict.reason)
                return
        self.socket_open = False
        log.info("media stream dropped", extra={"call_id": self.call.call_id})

    def _deliver(self, event: object) -> bool:
        """Act on a control event; True when the caller hung up."""
        if isinstance(event, MarkEvent):
            self.audio_out.on_mark(event.mark.name)
        elif isinstance(event, DtmfEvent):
            self.call.dtmf_digit(event.dtmf.digit)
        elif isinstance(event, StopEvent):
            self.call.hung_up = True
            return True
        return False

    # -- session events -----------------------------------------------------------------------------------

    def _on_playback_started(self, ev: PlaybackStartedEvent) -> None:
        self.call.agent_audio_started(ev.created_at)

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if isinstance(item, llm.ChatMessage) and item.role == "assistant":
            self.call.agent_turn(item.text_content or "")

    def _on_error(self, ev: ErrorEvent) -> None:
        error = ev.error
        if getattr(error, "recoverable", True):
            return
        kind = getattr(error, "type", "error")
        log.warning("pipeline component failed", extra={"call_id": self.call.call_id, "component": kind})
        self._fail_over(kind)

    def _fail_over(self, kind: str) -> None:
        """A failing STT/TTS/LLM: a spoken fallback if the voice still works, then the call goes to a human."""
        if self._failed_over:
            return
        self._failed_over = True
        self.call.escalate(f"{kind}_failure")
        if kind == "tts_error" or self.session is None:
            self.hangup.set()
            return
        with contextlib.suppress(RuntimeError):
            handle = self.session.say(prompts.text("technical_fallback", self.lang), allow_interruptions=False)
            handle.add_done_callback(lambda _: self.hangup.set())
            return
        self.hangup.set()

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state == "away":
            self._prompt_silent_caller()

    def _prompt_silent_caller(self) -> None:
        """A caller who says nothing hears a prompt, then, still silent, a goodbye before the line is closed."""
        if self.session is None or self.hangup.is_set():
            return
        self._no_input_count += 1
        last = self._no_input_count > self.runner.options.no_input_prompts
        with contextlib.suppress(RuntimeError):
            handle = self.session.say(prompts.text("goodbye_no_input" if last else "no_input", self.lang))
            handle.add_done_callback(lambda _: self.hangup.set() if last else self._recheck_silence())

    def _recheck_silence(self) -> None:
        spoken = sum(t.speaker == "caller" for t in self.call.turns)
        asyncio.get_running_loop().call_later(self.runner.options.user_away_timeout_s, self._still_silent, spoken)

    def _still_silent(self, spoken_before: int) -> None:
        spoken = sum(t.speaker == "caller" for t in self.call.turns)
        if self.session is not None and self.session.user_state == "away" and spoken == spoken_before:
            self._prompt_silent_caller()

    def _on_close(self, ev: CloseEvent) -> None:
        if ev.error is not None:
            self._fail_over(getattr(ev.error, "type", "error"))
        self.hangup.set()

    # -- end ------------------------------------------------------------------------------------------------

    async def _send(self, text: str) -> None:
        if not self.socket_open:
            raise ConnectionError("socket closed")
        await self.socket.send(text)

    async def _close(self, code: int, reason: str) -> None:
        if self.socket_open:
            self.socket_open = False
            await _close_quietly(self.socket, code, reason)

    async def finish(self) -> CallSummary:
        """Stop the session and the audio, close the socket, persist the outcome."""
        self.audio_in.end()
        await self.audio_out.aclose()
        if self.session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.session.aclose(), self.runner.options.close_timeout_s)
        code = CloseCode.INTERNAL_ERROR if self.call.escalated and self._failed_over else CloseCode.NORMAL
        await self._close(code, "call handed over" if code != CloseCode.NORMAL else "call ended")
        stats: dict[str, Any] = self.stream.stats.as_log_extra()
        stats["input_dropped_frames"] = self.audio_in.dropped_frames
        summary = await self.call.close(stats)
        log.info("call ended", extra={"call_id": summary.call_id, "outcome": summary.outcome, **stats})
        return summary


def _where(exc: BaseException) -> str:
    """Where an exception was raised (file:line in function), without its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""


async def _close_quietly(socket: MessageSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await socket.close(int(code), reason)
