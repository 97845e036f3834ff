"""livekit-agents audio I/O over a media stream: μ-law frames in, paced μ-law + marks out, `clear` on barge-in."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from livekit import rtc
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

from agent.audio import StreamResampler, mulaw_decode, mulaw_encode
from agent.transports.media_stream import FRAME_BYTES, MULAW_RATE, clear_message, mark_message, media_message

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
_END = object()


class MediaStreamAudioInput(AudioInput):
    """The caller's audio: μ-law payloads decoded to PCM16 and cut into 20 ms `rtc.AudioFrame`s.

    A bounded queue sits between the socket and the session: a full queue makes `push` wait (back-pressure
    on the socket) up to `enqueue_timeout_s`, after which the frame is dropped and counted.
    """

    def __init__(
        self, *, sample_rate: int = MULAW_RATE, queue_frames: int = 500, enqueue_timeout_s: float = 2.0
    ) -> None:
        super().__init__(label="MediaStreamIn")
        self._rate = sample_rate
        self._queue: asyncio.Queue[rtc.AudioFrame | object] = asyncio.Queue(maxsize=queue_frames)
        self._timeout = enqueue_timeout_s
        self._pending = b""
        self._ended = False
        self._resampler = rtc.AudioResampler(MULAW_RATE, sample_rate) if sample_rate != MULAW_RATE else None
        self.dropped_frames = 0
        self.frames_in = 0

    @property
    def sample_rate(self) -> int:
        return self._rate

    async def push(self, mulaw: bytes) -> int:
        """Queue the caller's audio; returns how many 20 ms frames were dropped."""
        if self._ended:
            return 0
        data = self._pending + mulaw
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        dropped = 0
        for start in range(0, whole, FRAME_BYTES):
            for frame in self._frames(data[start : start + FRAME_BYTES]):
                dropped += 0 if await self._enqueue(frame) else 1
        self.dropped_frames += dropped
        return dropped

    def _frames(self, mulaw: bytes) -> list[rtc.AudioFrame]:
        pcm = mulaw_decode(mulaw)
        frame = rtc.AudioFrame(pcm.tobytes(), MULAW_RATE, 1, len(pcm))
        self.frames_in += 1
        return list(self._resampler.push(frame)) if self._resampler else [frame]

    async def _enqueue(self, frame: rtc.AudioFrame) -> bool:
        try:
            await asyncio.wait_for(self._queue.put(frame), timeout=self._timeout)
        except TimeoutError:
            return False
        return True

    def end(self) -> None:
        """No more audio: the session's iteration ends once the queue is drained."""
        if self._ended:
            return
        self._ended = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_END)
            return
        _drop_one(self._queue)
        self._queue.put_nowait(_END)

    async def __anext__(self) -> rtc.AudioFrame:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)
            raise StopAsyncIteration
        assert isinstance(item, rtc.AudioFrame)
        return item


def _drop_one(queue: asyncio.Queue[rtc.AudioFrame | object]) -> None:
    with contextlib.suppress(asyncio.QueueEmpty):
        queue.get_nowait()


@dataclass
class _Segment:
    """One playback segment: audio captured between two flushes."""

    number: int
    started_at: float
    pushed_s: float = 0.0
    sent_s: float = 0.0
    flushed: bool = False
    mark: str = ""
    watcher: asyncio.Task[None] | None = None


class MediaStreamAudioOutput(AudioOutput):
    """The agent's voice: 8 kHz μ-law `media` events, a `mark` per segment, `clear` on interruption.

    Playback of a segment is reported finished when the peer echoes its mark, or, failing that, once the
    audio must have played (`ack_grace_s` later). `max_lead_s` bounds how far ahead of the playhead audio
    is sent; `clock_speed` > 1 lets a simulated peer play faster than real time.
    """

    def __init__(
        self,
        send: SendText,
        stream_sid: str,
        *,
        max_lead_s: float | None = 1.0,
        clock_speed: float = 1.0,
        ack_grace_s: float = 1.5,
    ) -> None:
        super().__init__(
            label="MediaStreamOut",
            capabilities=AudioOutputCapabilities(pause=False),
            next_in_chain=None,
            sample_rate=MULAW_RATE,
        )
        self._send = send
        self._stream_sid = stream_sid
        self._lead = max_lead_s
        self._speed = max(clock_speed, 0.01)
        self._grace = ack_grace_s
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._numbers = itertools.count(1)
        self._segment: _Segment | None = None
        self._open: dict[str, _Segment] = {}
        self._pending = b""
        self._resampler: StreamResampler | None = None
        self._discarding = False
        self._closed = False
        self.first_audio_sent_at: float | None = None

    # -- AudioOutput contract -----------------------------------------------------------------------

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._discarding or self._closed:
            return
        segment = self._segment or self._begin_segment()
        mulaw = mulaw_encode(self._pcm_at_8k(frame))
        segment.pushed_s += len(mulaw) / MULAW_RATE
        data = self._pending + mulaw
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        for start in range(0, whole, FRAME_BYTES):
            await self._pace(segment)
            if self._segment is not segment:
                return
            self._queue_audio(segment, data[start : start + FRAME_BYTES])

    def flush(self) -> None:
        super().flush()
        segment, self._segment = self._segment, None
        self._discarding = False
        if segment is None:
            return
        tail = self._resampler_tail()
        segment.pushed_s += len(tail) / MULAW_RATE
        if self._pending or tail:
            self._queue_audio(segment, self._pending + tail)
            self._pending = b""
        segment.flushed = True
        segment.mark = f"seg-{segment.number}"
        self._open[segment.mark] = segment
        self._put(mark_message(self._stream_sid, segment.mark))
        segment.watcher = asyncio.create_task(self._finish_on_timing(segment), name="media-stream-playout")

    def clear_buffer(self) -> None:
        interrupted = [s for s in self._open.values()]
        if self._segment is not None:
            interrupted.append(self._segment)
            self._discarding = True
        self._segment = None
        self._pending = b""
        self._resampler = None
        self._drain_outbox()
        if interrupted:
            self._put(clear_message(self._stream_sid))
        for segment in interrupted:
            self._finish(segment, interrupted=True)

    # -- peer events -----------------------------------------------------------------------------------

    def on_mark(self, name: str) -> None:
        """The peer played everything up to this mark."""
        segment = self._open.get(name)
        if segment is not None:
            self._finish(segment, interrupted=False)

    async def aclose(self) -> None:
        """The socket is gone: finish every open segment as interrupted and stop sending."""
        self._closed = True
        self.clear_buffer()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    # -- internals -------------------------------------------------------------------------------------

    def _pcm_at_8k(self, frame: rtc.AudioFrame) -> np.ndarray:
        """The frame at 8 kHz; one resampler per segment carries its filter history (no frame-edge clicks)."""
        samples = _mono_pcm16(frame)
        if frame.sample_rate == MULAW_RATE:
            return samples
        if self._resampler is None or self._resampler.src_rate != frame.sample_rate:
            self._resampler = StreamResampler(frame.sample_rate, MULAW_RATE)
        return _to_pcm16(self._resampler.push(samples))

    def _resampler_tail(self) -> bytes:
        """The last samples held back by the segment's resampler, as μ-law."""
        resampler, self._resampler = self._resampler, None
        if resampler is None:
            return b""
        return mulaw_encode(_to_pcm16(resampler.flush()))

    def _begin_segment(self) -> _Segment:
        now = time.time()
        self._segment = _Segment(number=next(self._numbers), started_at=now)
        self.on_playback_started(created_at=now)
        return self._segment

    async def _pace(self, segment: _Segment) -> None:
        if self._lead is None:
            return
        due = segment.started_at + segment.sent_s / self._speed - self._lead
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def _queue_audio(self, segment: _Segment, mulaw: bytes) -> None:
        segment.sent_s += len(mulaw) / MULAW_RATE
        self._put(media_message(self._stream_sid, mulaw))

    def _put(self, message: str) -> None:
        if self._closed and not message.startswith('{"event":"clear"'):
            return
        self._outbox.put_nowait(message)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_loop(), name="media-stream-sender")

    def _drain_outbox(self) -> None:
        while not self._outbox.empty():
            self._outbox.get_nowait()

    async def _send_loop(self) -> None:
        while not self._outbox.empty():
            message = self._outbox.get_nowait()
            if self.first_audio_sent_at is None and message.startswith('{"event":"media"'):
                self.first_audio_sent_at = time.time()
            try:
                await self._send(message)
            except Exception:  # the socket closed under us: the call runner notices and ends the call
                log.info("media stream send failed; output closed", extra={"stream": self._stream_sid})
                self._closed = True
                self._drain_outbox()
                return

    async def _finish_on_timing(self, segment: _Segment) -> None:
        played_by = segment.started_at + segment.sent_s / self._speed
        await asyncio.sleep(max(0.0, played_by - time.time()) + self._grace)
        if segment.mark in self._open:
            log.debug("mark not acknowledged in time; finishing on timing", extra={"mark": segment.mark})
            self._finish(segment, interrupted=False)

    def _finish(self, segment: _Segment, *, interrupted: bool) -> None:
        self._open.pop(segment.mark, None)
        if segment.watcher is not None and segment.watcher is not asyncio.current_task():
            segment.watcher.cancel()
        position = segment.pushed_s
        if interrupted:
            position = min(segment.pushed_s, max(0.0, (time.time() - segment.started_at) * self._speed))
        self.on_playback_finished(playback_position=position, interrupted=interrupted)


def _mono_pcm16(frame: rtc.AudioFrame) -> np.ndarray:
    """The frame's samples as mono int16 at the frame's own rate."""
    samples = np.frombuffer(bytes(frame.data), dtype=np.int16)
    if frame.num_channels > 1:
        samples = samples.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    return samples


def _to_pcm16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)
