"""One media-stream connection → one `AgentSession` (VAD, Whisper, TTS, dialog) with the call persisted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from livekit import rtc
from livekit.agents import AgentSession, llm, stt, tts, vad
from livekit.agents.types import APIConnectOptions
from livekit.agents.voice.agent_session import SessionConnectOptions
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    ConversationItemAddedEvent,
    ErrorEvent,
    SpeechCreatedEvent,
    UserStateChangedEvent,
)
from livekit.agents.voice.io import AudioInput, AudioOutput, PlaybackStartedEvent, TextOutput
from livekit.agents.voice.room_io import RoomOptions
from livekit.agents.voice.turn import TurnHandlingOptions

import prompts
from agent.call_state import CallState, CallSummary
from agent.call_store import CallStore
from agent.handoff import CallHandoff
from agent.handoff_livekit import RoomHandoff, RoomPublisher
from agent.reception_agent import ReceptionAgent, ReceptionServices
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

if TYPE_CHECKING:
    from agent.live_calls import LiveCallRegistry

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
    reception: ReceptionServices | None = None  # the dialog's services; None: the stack's LLM alone
    live_rooms: RoomPublisher | None = None  # LiveKit hand-off: where the console finds each call's room


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

    def __init__(self, on_segment: Callable[[str], None] | None = None) -> None:
        super().__init__(label="MediaStreamTranscript", next_in_chain=None)
        self.current = ""
        self.segments = 0
        self._on_segment = on_segment

    async def capture_text(self, text: str) -> None:
        self.current += text

    def flush(self) -> None:
        self.segments += 1
        if self._on_segment is not None and self.current.strip():
            self._on_segment(self.current)
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
        live_calls: LiveCallRegistry | None = None,
        admit: Callable[[Mapping[str, str]], bool] | None = None,
    ) -> None:
        self.stack = stack
        self.store = store
        self.options = options or CallOptions()
        self.on_call_end = on_call_end
        self.live_calls = live_calls  # hand-off: a secretary can be bridged into a registered call
        self.admit = admit  # checks the `start` event's customParameters (the carrier's token); None admits all

    async def __call__(self, socket: MessageSocket) -> None:
        await self.run(socket)

    async def run(self, socket: MessageSocket) -> CallSummary | None:
        """Run one call from `start` to hang-up; None when the peer never started a stream."""
        stream = InboundStream(self.options.limits)
        start = await self._await_start(socket, stream)
        if start is None:
            return None
        if self.admit is not None and not self.admit(start.start.custom_parameters):
            log.warning("media stream refused: no valid token in the start event")
            await _close_quietly(socket, CloseCode.POLICY_VIOLATION, "not authorised")
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


# Optional outbound events for clients that ask for them (the browser softphone) in `start.customParameters`:
# {"permanence.events": "transcript,triage,state"}. Carriers never ask, so they never receive them.
EVENTS_PARAMETER = "permanence.events"
CALL_EVENTS = frozenset({"transcript", "triage", "state"})

EventSink = Callable[[str, dict[str, Any]], None]


def requested_events(custom_parameters: dict[str, str]) -> frozenset[str]:
    """The namespaced events a client asked for (`permanence.events`: a comma-separated list)."""
    asked = custom_parameters.get(EVENTS_PARAMETER, "")
    return frozenset(name.strip() for name in asked.split(",")) & CALL_EVENTS


class CallSession:
    """The transport-agnostic part of one call: the `AgentSession` and reception agent on the shared voice
    stack, with the call's record, the spoken fail-over, the silent-caller prompts and the hang-up signal.

    The media-stream transport (`_LiveCall` below) and the LiveKit room transport (`agent.transports.
    livekit_room`) both run a call through this class; only where the audio comes from differs.
    """

    def __init__(self, *, stack: VoiceStack, options: CallOptions, call: CallState,
                 events: frozenset[str] = frozenset(), sink: EventSink | None = None) -> None:
        self.stack, self.options, self.call = stack, options, call
        self.lang = call.language
        self.session: AgentSession[None] | None = None
        self.hangup = asyncio.Event()
        self._no_input_count = 0
        self._failed_over = False
        self._events = events if sink is not None else frozenset()
        self._sink = sink
        self._published_turns = 0
        self.handoff: CallHandoff | None = None  # set while the call is registered for a hand-off
        self.room_handoff: RoomHandoff | None = None  # LiveKit mode: watches the room for the secretary

    def build_session(self) -> AgentSession[None]:
        """The session on the shared models, with the call's handlers (audio I/O is the transport's)."""
        stack, opts = self.stack, self.options
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
        session.on("conversation_item_added", self._on_item)
        session.on("error", self._on_error)
        session.on("user_state_changed", self._on_user_state)
        session.on("agent_state_changed", self._on_agent_state)
        session.on("speech_created", self._on_speech_created)
        session.on("close", self._on_close)
        _follow_agent_speech(session)
        return session

    async def start(self, *, audio_in: AudioInput | None = None, audio_out: AudioOutput | None = None,
                    room: rtc.Room | None = None, room_options: RoomOptions | None = None) -> None:
        """Start the reception agent on the given audio I/O, or on a LiveKit room's I/O (RoomIO)."""
        self.session = session = self.build_session()
        reception = None
        if self.stack.reception is not None:
            reception = await self.stack.reception.for_call(self.call, self.stack.triage, self.call.caller_number)
        agent = ReceptionAgent(call=self.call, triage=self.stack.triage, lang=self.lang, reception=reception)
        if room is not None:
            await session.start(agent, room=room, room_options=room_options or RoomOptions())
            if session.output.audio is not None:  # RoomIO's output exists once started
                session.output.audio.on("playback_started", self._on_playback_started)
            if self.stack.live_rooms is not None:  # a secretary joining the room turns the agent's audio off
                self.room_handoff = RoomHandoff(session=session, room=room, call_id=self.call.call_id,
                                                rooms=self.stack.live_rooms, hangup=self.hangup).start()
            return
        session.input.audio = audio_in
        session.output.audio = audio_out
        session.output.transcription = _AgentText(self._on_agent_text)
        if audio_out is not None:
            audio_out.on("playback_started", self._on_playback_started)
        await session.start(agent)

    async def aclose(self) -> None:
        """Stop the session (bounded: a stuck component never holds the call open)."""
        self._publish_turns()
        if self.room_handoff is not None:
            self.room_handoff.stop()
        if self.session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.session.aclose(), self.options.close_timeout_s)

    @property
    def failed_over(self) -> bool:
        return self._failed_over

    # -- session events -----------------------------------------------------------------------------------

    def _on_playback_started(self, ev: PlaybackStartedEvent) -> None:
        self.call.agent_audio_started(ev.created_at)

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if isinstance(item, llm.ChatMessage) and item.role == "assistant":
            self.call.agent_turn(item.text_content or "")
        self._publish_turns()

    def _on_speech_created(self, _: SpeechCreatedEvent) -> None:
        self._publish_turns()  # the guard has recorded the caller's turn by the time the agent answers it

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
        self._emit("state", {"user": ev.new_state})
        if ev.new_state == "away":
            self._prompt_silent_caller()

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self._emit("state", {"agent": ev.new_state})

    def _prompt_silent_caller(self) -> None:
        """A caller who says nothing hears a prompt, then, still silent, a goodbye before the line is closed."""
        if self.session is None or self.hangup.is_set():
            return
        if self.handoff is not None and self.handoff.human_on_line:
            return  # waiting for a secretary or talking to one: no silence prompts
        self._no_input_count += 1
        last = self._no_input_count > self.options.no_input_prompts
        with contextlib.suppress(RuntimeError):
            handle = self.session.say(prompts.text("goodbye_no_input" if last else "no_input", self.lang))
            handle.add_done_callback(lambda _: self.hangup.set() if last else self._recheck_silence())

    def _recheck_silence(self) -> None:
        spoken = sum(t.speaker == "caller" for t in self.call.turns)
        asyncio.get_running_loop().call_later(self.options.user_away_timeout_s, self._still_silent, spoken)

    def _still_silent(self, spoken_before: int) -> None:
        spoken = sum(t.speaker == "caller" for t in self.call.turns)
        if self.session is not None and self.session.user_state == "away" and spoken == spoken_before:
            self._prompt_silent_caller()

    def _on_close(self, ev: CloseEvent) -> None:
        if ev.error is not None:
            self._fail_over(getattr(ev.error, "type", "error"))
        self.hangup.set()

    # -- optional events for the client (transcript, triage, state) ---------------------------------------

    def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        if kind in self._events and self._sink is not None:
            self._sink(kind, payload)

    def _on_agent_text(self, text: str) -> None:
        self._emit("transcript", {"speaker": "agent", "text": text, "seq": None})

    def _publish_turns(self) -> None:
        """Caller and keypad turns recorded since the last call, each with its triage decision."""
        for turn in self.call.turns[self._published_turns:]:
            if turn.speaker != "agent":
                self._emit("transcript", {"speaker": turn.speaker, "text": turn.text, "seq": turn.seq})
            if turn.triage:
                self._emit("triage", _triage_view(turn.seq, turn.triage, self.call.escalated))
        self._published_turns = len(self.call.turns)


def _triage_view(seq: int, triage: dict[str, Any], escalated: bool) -> dict[str, Any]:
    """What a client shows of a decision: level, action, intent and the rules with the caller's words."""
    rules = [{key: rule.get(key) for key in ("id", "level", "label", "evidence")}
             for rule in triage.get("rules", []) if isinstance(rule, dict)]
    return {"seq": seq, "level": triage.get("level"), "action": triage.get("action"),
            "intent": triage.get("intent"), "rules": rules, "escalated": escalated}


class _LiveCall(CallSession):
    """One media-stream call: the socket pump and the μ-law audio I/O around a `CallSession`."""

    def __init__(self, runner: CallRunner, socket: MessageSocket, stream: InboundStream, call: CallState) -> None:
        params = stream.start.start.custom_parameters if stream.start else {}
        super().__init__(stack=runner.stack, options=runner.options, call=call,
                         events=requested_events(params), sink=self._send_event)
        self.runner, self.socket, self.stream = runner, socket, stream
        opts = runner.options
        self.audio_in = MediaStreamAudioInput(queue_frames=opts.limits.queue_frames,
                                              enqueue_timeout_s=opts.limits.enqueue_timeout_s)
        self.audio_out = MediaStreamAudioOutput(self._send, call.stream_sid, max_lead_s=opts.playout_lead_s,
                                                clock_speed=opts.clock_speed)
        self.socket_open = True
        self._send_lock = asyncio.Lock()
        self._event_tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        await self.start(audio_in=self.audio_in, audio_out=self.audio_out)
        self._register_handoff()
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

    def _register_handoff(self) -> None:
        """Make the call reachable by a secretary (agent.handoff: bridge, mute, wait, callback)."""
        if self.runner.live_calls is None or self.session is None:
            return
        self.handoff = self.runner.live_calls.register(CallHandoff(
            call=self.call, session=self.session, send=self._send, clear_output=self.audio_out.clear_buffer,
            hangup=self.hangup, make_stt=self.stack.make_stt, vad=self.stack.vad, triage=self.stack.triage))

    # -- socket → call ------------------------------------------------------------------------------------

    async def _pump(self) -> None:
        while (raw := await self.socket.receive()) is not None:
            verdict = self.stream.feed(raw)
            if isinstance(verdict, Audio):
                await self.audio_in.push(verdict.mulaw)
                if self.handoff is not None:
                    self.handoff.caller_audio(verdict.mulaw)
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
            self._publish_turns()
        elif isinstance(event, StopEvent):
            self.call.hung_up = True
            return True
        return False

    # -- end ------------------------------------------------------------------------------------------------

    async def _send(self, text: str) -> None:
        if not self.socket_open:
            raise ConnectionError("socket closed")
        async with self._send_lock:  # audio and events share the socket: one message at a time
            await self.socket.send(text)

    def _send_event(self, kind: str, payload: dict[str, Any]) -> None:
        message = json.dumps({"event": f"permanence.{kind}", "streamSid": self.call.stream_sid, kind: payload},
                             separators=(",", ":"), ensure_ascii=False)
        task = asyncio.create_task(self._send_quietly(message), name="media-stream-event")
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def _send_quietly(self, message: str) -> None:
        with contextlib.suppress(ConnectionError):
            await self._send(message)

    async def _close(self, code: int, reason: str) -> None:
        if self.socket_open:
            self.socket_open = False
            await _close_quietly(self.socket, code, reason)

    async def finish(self) -> CallSummary:
        """Stop the session and the audio, close the socket, persist the outcome."""
        if self.handoff is not None and self.runner.live_calls is not None:
            self.runner.live_calls.unregister(self.call.call_id)
        self.audio_in.end()
        await self.audio_out.aclose()
        await self.aclose()
        if self._event_tasks:
            await asyncio.wait(set(self._event_tasks), timeout=1.0)
        code = CloseCode.INTERNAL_ERROR if self.call.escalated and self.failed_over else CloseCode.NORMAL
        await self._close(code, "call handed over" if code != CloseCode.NORMAL else "call ended")
        stats: dict[str, Any] = self.stream.stats.as_log_extra()
        stats["input_dropped_frames"] = self.audio_in.dropped_frames
        summary = await self.call.close(stats)
        log.info("call ended", extra={"call_id": summary.call_id, "outcome": summary.outcome, **stats})
        return summary


def _follow_agent_speech(session: AgentSession[None]) -> None:
    """An STT that drops backchannels ("oui", "mmh") while the agent speaks is told when it does."""
    if session.stt is not None and hasattr(session.stt, "agent_speaking"):
        session.stt.agent_speaking = lambda: session.agent_state == "speaking"


def _where(exc: BaseException) -> str:
    """Where an exception was raised (file:line in function), without its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""


async def _close_quietly(socket: MessageSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await socket.close(int(code), reason)
