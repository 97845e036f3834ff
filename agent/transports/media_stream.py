"""The Twilio Media Streams JSON protocol: typed events, strict inbound validation, outbound messages."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

MULAW_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = MULAW_RATE * FRAME_MS // 1000
MULAW_ENCODING = "audio/x-mulaw"


class CloseCode(IntEnum):
    """WebSocket close codes this transport uses (RFC 6455 §7.4)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013


# --- inbound events (carrier → us) ------------------------------------------------------------------


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ConnectedEvent(_Event):
    event: Literal["connected"]
    protocol: str = Field(default="", max_length=40)
    version: str = Field(default="", max_length=40)


class MediaFormat(_Event):
    encoding: str = Field(default=MULAW_ENCODING, max_length=40)
    sample_rate: int = Field(default=MULAW_RATE, alias="sampleRate")
    channels: int = 1


class StartInfo(_Event):
    stream_sid: str = Field(alias="streamSid", min_length=1, max_length=64)
    call_sid: str = Field(default="", alias="callSid", max_length=64)
    account_sid: str = Field(default="", alias="accountSid", max_length=64)
    tracks: list[str] = Field(default_factory=lambda: ["inbound"], max_length=4)
    media_format: MediaFormat = Field(default_factory=MediaFormat, alias="mediaFormat")
    custom_parameters: dict[str, str] = Field(default_factory=dict, alias="customParameters")

    @field_validator("custom_parameters")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 32 or any(len(k) > 64 or len(v) > 512 for k, v in value.items()):
            raise ValueError("customParameters too large")
        return value


class StartEvent(_Event):
    event: Literal["start"]
    sequence_number: int | None = Field(default=None, alias="sequenceNumber", ge=0)
    stream_sid: str = Field(default="", alias="streamSid", max_length=64)
    start: StartInfo


class MediaInfo(_Event):
    track: str = Field(default="inbound", max_length=20)
    chunk: int | None = Field(default=None, ge=0)
    timestamp: int | None = Field(default=None, ge=0)
    payload: str


class MediaEvent(_Event):
    event: Literal["media"]
    sequence_number: int | None = Field(default=None, alias="sequenceNumber", ge=0)
    stream_sid: str = Field(default="", alias="streamSid", max_length=64)
    media: MediaInfo


class MarkInfo(_Event):
    name: str = Field(max_length=128)


class MarkEvent(_Event):
    event: Literal["mark"]
    sequence_number: int | None = Field(default=None, alias="sequenceNumber", ge=0)
    stream_sid: str = Field(default="", alias="streamSid", max_length=64)
    mark: MarkInfo


class DtmfInfo(_Event):
    track: str = Field(default="inbound_track", max_length=20)
    digit: str = Field(pattern=r"^[0-9*#A-Da-d]$")


class DtmfEvent(_Event):
    event: Literal["dtmf"]
    sequence_number: int | None = Field(default=None, alias="sequenceNumber", ge=0)
    stream_sid: str = Field(default="", alias="streamSid", max_length=64)
    dtmf: DtmfInfo


class StopInfo(_Event):
    call_sid: str = Field(default="", alias="callSid", max_length=64)
    account_sid: str = Field(default="", alias="accountSid", max_length=64)


class StopEvent(_Event):
    event: Literal["stop"]
    sequence_number: int | None = Field(default=None, alias="sequenceNumber", ge=0)
    stream_sid: str = Field(default="", alias="streamSid", max_length=64)
    stop: StopInfo = Field(default_factory=StopInfo)


InboundEvent = Annotated[
    ConnectedEvent | StartEvent | MediaEvent | MarkEvent | DtmfEvent | StopEvent, Field(discriminator="event")
]
INBOUND_EVENTS = frozenset({"connected", "start", "media", "mark", "dtmf", "stop"})
_INBOUND: TypeAdapter[InboundEvent] = TypeAdapter(InboundEvent)


# --- verdicts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deliver:
    """A valid event the call should act on."""

    event: ConnectedEvent | StartEvent | MarkEvent | DtmfEvent | StopEvent


@dataclass(frozen=True)
class Audio:
    """A valid inbound media frame, decoded to its μ-law bytes."""

    mulaw: bytes
    sequence: int | None


@dataclass(frozen=True)
class Ignore:
    """A message dropped and counted; `bad` ones count towards closing the stream."""

    reason: str
    bad: bool = True


@dataclass(frozen=True)
class Close:
    """The stream must be closed with this code and reason (no patient data in the reason)."""

    code: CloseCode
    reason: str


Verdict = Deliver | Audio | Ignore | Close


@dataclass(frozen=True)
class StreamLimits:
    """Bounds on what one peer may send; every excess has a defined, logged outcome."""

    max_message_chars: int = 64 * 1024
    max_payload_bytes: int = MULAW_RATE
    max_bad_messages: int = 50
    max_speed: float = 50.0
    burst_s: float = 30.0
    max_dropped_s: float = 30.0
    queue_frames: int = 500
    enqueue_timeout_s: float = 2.0


@dataclass
class StreamStats:
    """Counters of one stream, logged at its end (counts only, never content)."""

    messages: int = 0
    media_frames: int = 0
    audio_bytes: int = 0
    dropped_frames: int = 0
    dropped_bytes: int = 0
    dtmf: int = 0
    marks: int = 0
    ignored: dict[str, int] = field(default_factory=dict)

    def count_ignored(self, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1

    @property
    def bad_messages(self) -> int:
        return sum(n for reason, n in self.ignored.items() if reason not in _BENIGN)

    def as_log_extra(self) -> dict[str, Any]:
        return {
            "messages": self.messages, "media_frames": self.media_frames, "audio_bytes": self.audio_bytes,
            "dropped_frames": self.dropped_frames, "dtmf": self.dtmf, "marks": self.marks,
            "ignored": dict(self.ignored),
        }


_BENIGN = frozenset({"outbound_track", "after_stop", "connected_again"})


def decode_message(raw: str | bytes, limits: StreamLimits) -> InboundEvent | Ignore | Close:
    """Parse one WebSocket message into a typed inbound event, or say how to treat it."""
    if isinstance(raw, bytes | bytearray):
        return Close(CloseCode.UNSUPPORTED_DATA, "binary frames are not part of the protocol")
    if len(raw) > limits.max_message_chars:
        return Close(CloseCode.TOO_BIG, "message too big")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return Close(CloseCode.INVALID_DATA, "malformed JSON")
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return Close(CloseCode.INVALID_DATA, "not a media-stream event")
    name = data["event"]
    if name not in INBOUND_EVENTS:
        return Ignore("unknown_event")
    try:
        return _INBOUND.validate_python(data)
    except ValidationError:
        if name == "start":
            return Close(CloseCode.INVALID_DATA, "invalid start event")
        return Ignore(f"invalid_{name}")


def decode_payload(payload: str, limits: StreamLimits) -> bytes | Ignore:
    """Strict base64 → μ-law bytes, with the size bounded."""
    if len(payload) > (limits.max_payload_bytes * 4) // 3 + 4:
        return Ignore("payload_size")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return Ignore("invalid_base64")
    if not data or len(data) > limits.max_payload_bytes:
        return Ignore("payload_size")
    return data


def check_media_format(start: StartInfo) -> Close | None:
    """Only mono 8 kHz μ-law is spoken here."""
    fmt = start.media_format
    if fmt.encoding != MULAW_ENCODING or fmt.sample_rate != MULAW_RATE or fmt.channels != 1:
        return Close(CloseCode.UNSUPPORTED_DATA, "unsupported media format")
    return None


class FloodGuard:
    """Token bucket over seconds of audio: a peer may send faster than real time, up to `max_speed`."""

    def __init__(self, limits: StreamLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = limits.max_speed
        self._capacity = limits.burst_s
        self._tokens = limits.burst_s
        self._clock = clock
        self._last = clock()

    def admit(self, seconds: float) -> bool:
        """Whether `seconds` of audio may pass now."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens + 1e-9 < seconds:
            return False
        self._tokens -= seconds
        return True


class InboundStream:
    """State machine of one inbound stream: turns raw messages into verdicts and keeps the counters."""

    def __init__(self, limits: StreamLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or StreamLimits()
        self.stats = StreamStats()
        self.start: StartEvent | None = None
        self.stopped = False
        self._last_sequence: int | None = None
        self._flood = FloodGuard(self.limits, clock)

    @property
    def stream_sid(self) -> str:
        return self.start.start.stream_sid if self.start else ""

    def feed(self, raw: str | bytes) -> Verdict:
        """The verdict on one raw message; a `bad` ignore past the limit becomes a close."""
        self.stats.messages += 1
        verdict = self._judge(raw)
        if isinstance(verdict, Ignore):
            self.stats.count_ignored(verdict.reason)
            if verdict.bad and self.stats.bad_messages > self.limits.max_bad_messages:
                return Close(CloseCode.POLICY_VIOLATION, "too many invalid messages")
        return verdict

    def _judge(self, raw: str | bytes) -> Verdict:
        event = decode_message(raw, self.limits)
        if isinstance(event, Ignore | Close):
            return event
        if self.stopped:
            return Ignore("after_stop", bad=False)
        if isinstance(event, MediaEvent):
            return self._media(event)
        if isinstance(event, StartEvent):
            return self._start(event)
        if self.start is None and not isinstance(event, ConnectedEvent):
            return Ignore(f"{event.event}_before_start")
        if isinstance(event, ConnectedEvent) and self.stats.messages > 1:
            return Ignore("connected_again", bad=False)
        return self._other(event)

    def _start(self, event: StartEvent) -> Verdict:
        if self.start is not None:
            return Ignore("duplicate_start")
        if (refused := check_media_format(event.start)) is not None:
            return refused
        self.start = event
        return Deliver(event)

    def _other(self, event: ConnectedEvent | MarkEvent | DtmfEvent | StopEvent) -> Verdict:
        if not isinstance(event, ConnectedEvent) and event.stream_sid and event.stream_sid != self.stream_sid:
            return Ignore("wrong_stream")
        if isinstance(event, StopEvent):
            self.stopped = True
        elif isinstance(event, DtmfEvent):
            self.stats.dtmf += 1
        elif isinstance(event, MarkEvent):
            self.stats.marks += 1
        return Deliver(event)

    def _media(self, event: MediaEvent) -> Verdict:
        if self.start is None:
            return Ignore("media_before_start")
        if event.stream_sid and event.stream_sid != self.stream_sid:
            return Ignore("wrong_stream")
        if event.media.track not in ("inbound", "inbound_track"):
            return Ignore("outbound_track", bad=False)
        sequence = event.sequence_number
        if sequence is not None and self._last_sequence is not None and sequence <= self._last_sequence:
            return Ignore("out_of_order")
        data = decode_payload(event.media.payload, self.limits)
        if isinstance(data, Ignore):
            return data
        if sequence is not None:
            self._last_sequence = sequence
        return self._admit(data, sequence)

    def _admit(self, data: bytes, sequence: int | None) -> Verdict:
        if not self._flood.admit(len(data) / MULAW_RATE):
            self.stats.dropped_frames += 1
            self.stats.dropped_bytes += len(data)
            if self.stats.dropped_bytes / MULAW_RATE > self.limits.max_dropped_s:
                return Close(CloseCode.POLICY_VIOLATION, "media flood")
            return Ignore("flood", bad=False)
        self.stats.media_frames += 1
        self.stats.audio_bytes += len(data)
        return Audio(data, sequence)


# --- outbound messages (us → carrier) and the carrier side, for clients and tests ---------------------


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def media_message(stream_sid: str, mulaw: bytes) -> str:
    """Outbound `media`: μ-law audio for the caller."""
    payload = base64.b64encode(mulaw).decode("ascii")
    return _dump({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def mark_message(stream_sid: str, name: str) -> str:
    """Outbound `mark`: echoed back by the carrier once the audio before it has played."""
    return _dump({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    """Outbound `clear`: drop the audio the carrier still buffers (barge-in)."""
    return _dump({"event": "clear", "streamSid": stream_sid})


class OutboundMedia(_Event):
    event: Literal["media"]
    stream_sid: str = Field(default="", alias="streamSid")
    media: MediaInfo


class OutboundMark(_Event):
    event: Literal["mark"]
    stream_sid: str = Field(default="", alias="streamSid")
    mark: MarkInfo


class OutboundClear(_Event):
    event: Literal["clear"]
    stream_sid: str = Field(default="", alias="streamSid")


OutboundEvent = Annotated[OutboundMedia | OutboundMark | OutboundClear, Field(discriminator="event")]
_OUTBOUND: TypeAdapter[OutboundEvent] = TypeAdapter(OutboundEvent)


def parse_outbound(raw: str) -> OutboundMedia | OutboundMark | OutboundClear | None:
    """What a carrier reads from us; None for anything it would not understand."""
    try:
        return _OUTBOUND.validate_json(raw)
    except ValidationError:
        return None


class CarrierMessages:
    """Builds the messages a carrier sends for one stream (the phone client and tests play the carrier)."""

    def __init__(self, stream_sid: str, call_sid: str = "") -> None:
        self.stream_sid = stream_sid
        self.call_sid = call_sid or f"CA{stream_sid[2:]}"
        self._sequence = 0
        self._chunk = 0
        self._timestamp_ms = 0

    def _next(self) -> str:
        self._sequence += 1
        return str(self._sequence)

    def connected(self) -> str:
        return _dump({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start(self, custom_parameters: dict[str, str] | None = None) -> str:
        start = {
            "streamSid": self.stream_sid, "callSid": self.call_sid, "accountSid": "AC0", "tracks": ["inbound"],
            "mediaFormat": {"encoding": MULAW_ENCODING, "sampleRate": MULAW_RATE, "channels": 1},
            "customParameters": custom_parameters or {},
        }
        return _dump({"event": "start", "sequenceNumber": self._next(), "start": start, "streamSid": self.stream_sid})

    def media(self, mulaw: bytes) -> str:
        self._chunk += 1
        media = {"track": "inbound", "chunk": str(self._chunk), "timestamp": str(self._timestamp_ms),
                 "payload": base64.b64encode(mulaw).decode("ascii")}
        self._timestamp_ms += len(mulaw) * 1000 // MULAW_RATE
        return _dump({"event": "media", "sequenceNumber": self._next(), "media": media, "streamSid": self.stream_sid})

    def mark(self, name: str) -> str:
        return _dump({"event": "mark", "sequenceNumber": self._next(), "streamSid": self.stream_sid,
                      "mark": {"name": name}})

    def dtmf(self, digit: str) -> str:
        return _dump({"event": "dtmf", "sequenceNumber": self._next(), "streamSid": self.stream_sid,
                      "dtmf": {"track": "inbound_track", "digit": digit}})

    def stop(self) -> str:
        return _dump({"event": "stop", "sequenceNumber": self._next(), "streamSid": self.stream_sid,
                      "stop": {"accountSid": "AC0", "callSid": self.call_sid}})


def split_frames(mulaw: bytes, frame_bytes: int = FRAME_BYTES) -> list[bytes]:
    """μ-law audio cut into 20 ms frames (the last one may be shorter)."""
    return [mulaw[i : i + frame_bytes] for i in range(0, len(mulaw), frame_bytes)]
