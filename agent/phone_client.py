"""A simulated phone line on the media-stream WebSocket: streams caller turns, plays and times the agent's replies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent.audio import mulaw_decode
from agent.call_runner import EVENTS_PARAMETER
from agent.transports.media_stream import (
    FRAME_BYTES,
    MULAW_RATE,
    CarrierMessages,
    OutboundClear,
    OutboundMark,
    OutboundMedia,
    StreamLimits,
    parse_outbound,
)
from agent.transports.media_stream import decode_payload as _decode

SILENCE = b"\xff" * FRAME_BYTES
FRAME_S = FRAME_BYTES / MULAW_RATE
STATE_EVENT = "permanence.state"  # the agent's state, asked for in the start event


@dataclass(frozen=True)
class CallerTurn:
    """One thing the caller does: speak (μ-law audio) and/or press keys."""

    mulaw: bytes = b""
    dtmf: str = ""
    label: str = ""


@dataclass
class TurnTiming:
    """When a caller turn ended and when the agent's answer started (wall clock, `time.time()`)."""

    started_at: float = 0.0
    speech_end: float = 0.0
    first_agent_audio: float | None = None
    agent_audio_s: float = 0.0

    @property
    def voice_to_voice_ms(self) -> int | None:
        if self.first_agent_audio is None or not self.speech_end:
            return None
        return max(0, round((self.first_agent_audio - self.speech_end) * 1000))


@dataclass
class PhoneCallResult:
    """What the simulated line saw."""

    stream_sid: str
    turns: list[TurnTiming]
    greeting_audio_s: float = 0.0
    agent_audio: list[bytes] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    def agent_pcm16(self, gap_s: float = 0.4) -> bytes:
        """The agent's audio, segment after segment with a short gap, as 8 kHz PCM16 bytes."""
        gap = b"\x00\x00" * int(gap_s * MULAW_RATE)
        return gap.join(mulaw_decode(segment).tobytes() for segment in self.agent_audio if segment)


class PhoneLine:
    """The carrier's side of one call: real-time (or `speed`× faster) media, marks echoed once "played"."""

    def __init__(self, ws: ClientConnection, *, speed: float = 1.0) -> None:
        self.ws = ws
        self.speed = max(speed, 0.01)
        self.sid = "MZ" + uuid.uuid4().hex
        self.messages = CarrierMessages(self.sid)
        self._speech = bytearray()
        self._speech_done: asyncio.Event = asyncio.Event()
        self._speech_end = 0.0
        self._play_until = 0.0
        self._pending_marks: dict[str, asyncio.TimerHandle] = {}
        self._acks: set[asyncio.Future[None]] = set()
        self.last_agent_media = 0.0
        self.reply_started_at: float | None = None
        self.agent_media_count = 0
        self.segments: list[bytearray] = [bytearray()]
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.agent_state = ""  # from the server's permanence.state events: "speaking" until a reply has played

    # -- sending --------------------------------------------------------------------------------------------

    async def send(self, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(text)

    async def speak(self, mulaw: bytes) -> float:
        """Stream `mulaw` in place of silence; returns when its last frame left (end of speech)."""
        self._speech_done.clear()
        self._speech.extend(mulaw)
        if not mulaw:
            return time.time()
        await self._speech_done.wait()
        return self._speech_end

    async def stream_forever(self) -> None:
        """Send one 20 ms frame per tick: the caller's speech when queued, silence otherwise."""
        tick, started, n = FRAME_S / self.speed, time.monotonic(), 0
        while not self.closed.is_set():
            frame = bytes(self._speech[:FRAME_BYTES]) or SILENCE
            del self._speech[:FRAME_BYTES]
            await self.send(self.messages.media(frame.ljust(FRAME_BYTES, b"\xff")))
            if frame is not SILENCE and not self._speech:
                self._speech_end, self.reply_started_at = time.time(), None
                self._speech_done.set()
            n += 1
            await asyncio.sleep(max(0.0, started + n * tick - time.monotonic()))

    # -- receiving ------------------------------------------------------------------------------------------

    async def receive_forever(self) -> None:
        try:
            async for raw in self.ws:
                if isinstance(raw, str):
                    self._on_message(raw)
        except ConnectionClosed:
            pass
        finally:
            received = self.ws.protocol.close_rcvd
            self.close_code = received.code if received else None
            self.close_reason = received.reason if received else ""
            self.closed.set()

    def _on_message(self, raw: str) -> None:
        event = parse_outbound(raw)
        if event is None:
            self._on_state(raw)
        elif isinstance(event, OutboundMedia):
            self._on_media(event)
        elif isinstance(event, OutboundMark):
            self._schedule_ack(event.mark.name)
        elif isinstance(event, OutboundClear):
            self._on_clear()

    def _on_media(self, event: OutboundMedia) -> None:
        data = _decode(event.media.payload, StreamLimits())
        if isinstance(data, bytes):
            now = time.time()
            self.last_agent_media, self.agent_media_count = now, self.agent_media_count + 1
            if self.reply_started_at is None:
                self.reply_started_at = now
            self.segments[-1].extend(data)
            self._play_until = max(self._play_until, now) + len(data) / MULAW_RATE / self.speed

    def _on_state(self, raw: str) -> None:
        """The agent's state from a `permanence.state` event; any other message a carrier would not read is ignored."""
        with contextlib.suppress(ValueError, AttributeError, KeyError, TypeError):
            message = json.loads(raw)
            state = message["state"].get("agent") if message.get("event") == STATE_EVENT else None
            if isinstance(state, str):
                self.agent_state = state

    def _schedule_ack(self, name: str) -> None:
        delay = max(0.0, self._play_until - time.time())
        loop = asyncio.get_running_loop()
        self._pending_marks[name] = loop.call_later(delay, lambda: self._ack(name))
        self.segments.append(bytearray())

    def _ack(self, name: str) -> None:
        if self._pending_marks.pop(name, None) is not None:
            task = asyncio.ensure_future(self.send(self.messages.mark(name)))
            self._acks.add(task)
            task.add_done_callback(self._acks.discard)

    def _on_clear(self) -> None:
        """Like a carrier: drop unplayed audio and echo every pending mark at once."""
        self._play_until = time.time()
        for name, handle in list(self._pending_marks.items()):
            handle.cancel()
            self._ack(name)

    @property
    def playing_until(self) -> float:
        """When the agent audio received so far will have played (wall clock)."""
        return self._play_until

    @property
    def quiet(self) -> bool:
        """Nothing left to play, and the agent is not between two sentences of one reply."""
        return not self._pending_marks and time.time() >= self._play_until and self.agent_state != "speaking"


@dataclass
class PhoneClient:
    """Calls `url` and plays the caller's turns one after the other, waiting for each answer."""

    url: str
    speed: float = 1.0
    caller: str = ""
    practice: str = ""
    language: str = "fr"
    token: str = ""  # start.customParameters["token"]: the carrier's or one the console signed
    reply_timeout_s: float = 20.0
    settle_s: float = 0.7
    think_s: float = 0.4

    async def call(self, turns: list[CallerTurn]) -> PhoneCallResult:
        async with connect(self.url, compression=None, max_size=2**20, open_timeout=10) as ws:
            line = PhoneLine(ws, speed=self.speed)
            receiver = asyncio.create_task(line.receive_forever())
            await line.send(line.messages.connected())
            await line.send(line.messages.start(self._parameters()))
            streamer = asyncio.create_task(line.stream_forever())
            try:
                return await self._converse(line, turns)
            finally:
                await line.send(line.messages.stop())
                streamer.cancel()
                await ws.close()
                await asyncio.wait({receiver}, timeout=5)

    def _parameters(self) -> dict[str, str]:
        params = {"caller": self.caller, "practice": self.practice, "language": self.language, "token": self.token,
                  EVENTS_PARAMETER: "state"}  # a slow sentence must not read as the end of a reply
        return {k: v for k, v in params.items() if v}

    async def _converse(self, line: PhoneLine, turns: list[CallerTurn]) -> PhoneCallResult:
        greeting = await self._await_reply(line, since=time.time(), timing=None)
        result = PhoneCallResult(stream_sid=line.sid, turns=[], greeting_audio_s=greeting)
        for turn in turns:
            if line.closed.is_set():
                break
            result.turns.append(await self._play_turn(line, turn))
        result.agent_audio = [bytes(s) for s in line.segments if s]
        result.close_code, result.close_reason = line.close_code, line.close_reason
        return result

    async def _play_turn(self, line: PhoneLine, turn: CallerTurn) -> TurnTiming:
        timing = TurnTiming(started_at=time.time())
        for digit in turn.dtmf:
            await line.send(line.messages.dtmf(digit))
        if turn.mulaw:
            timing.speech_end = await line.speak(turn.mulaw)
            timing.agent_audio_s = await self._await_reply(line, since=timing.speech_end, timing=timing)
        await asyncio.sleep(self.think_s / line.speed)
        return timing

    async def _await_reply(self, line: PhoneLine, *, since: float, timing: TurnTiming | None) -> float:
        """Wait for agent audio after `since`, then for it to finish playing; returns its duration."""
        count = line.agent_media_count
        deadline = time.monotonic() + self.reply_timeout_s
        while line.last_agent_media <= since and time.monotonic() < deadline and not line.closed.is_set():
            await asyncio.sleep(0.005)
        if line.last_agent_media <= since:
            return 0.0
        if timing is not None:
            timing.first_agent_audio = line.reply_started_at
        await self._settle(line)
        return (line.agent_media_count - count) * FRAME_S

    async def _settle(self, line: PhoneLine) -> None:
        """Until the reply has played and the line stayed quiet; a reply that stalls longer than the reply timeout
        is taken as over (however long the reply itself: an after-hours greeting lasts over 30 s)."""
        settle = self.settle_s / line.speed
        while not line.closed.is_set():
            now = time.time()
            if line.quiet and now - line.last_agent_media >= settle:
                return
            if now - max(line.last_agent_media, line.playing_until) > self.reply_timeout_s:
                return
            await asyncio.sleep(0.01)
