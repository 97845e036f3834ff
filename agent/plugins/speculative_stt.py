"""Streaming Whisper STT that decodes as soon as silence begins, so the transcript is ready when the turn ends."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from livekit import rtc
from livekit.agents import APIConnectionError, stt, utils, vad
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.agents.utils import AudioBuffer, is_given

from agent.plugins.whisper_stt import Transcript, WhisperTranscriber, buffer_to_pcm16, speech_event
from agent.turn_taking import is_backchannel, is_filler


@dataclass
class DecodeRecord:
    """Timing of one speculative decode (wall clock, `time.time()`), for benchmarks."""

    speech_end: float
    started: float
    finished: float = 0.0
    audio_s: float = 0.0
    decode_s: float = 0.0
    outcome: Literal["sent", "stale", "filler", "backchannel", "empty", "running"] = "running"


@dataclass
class DecodeLog:
    """The decodes of one STT (one call), newest last; bounded."""

    records: list[DecodeRecord] = field(default_factory=list)
    limit: int = 500

    def add(self, record: DecodeRecord) -> DecodeRecord:
        self.records.append(record)
        del self.records[: max(0, len(self.records) - self.limit)]
        return record


class SpeculativeWhisperSTT(stt.STT[Literal["metrics_collected", "error"]]):
    """Streaming livekit STT over a `WhisperTranscriber`, endpointed by its own short-silence VAD.

    The VAD marks a tentative end of speech (~100 ms of silence); the utterance buffered since the last
    transcript is decoded in a thread right away. If the caller resumes first, the result is discarded and
    the audio kept for the next decode; otherwise it is sent as the final transcript, usually before the
    session's endpointing has confirmed the silence. Filler-only results ("euh") are never sent, and short
    backchannels ("oui", "d'accord") are dropped while the agent speaks (`agent_speaking`).
    """

    def __init__(
        self, transcriber: WhisperTranscriber, *, vad: vad.VAD, model_name: str = "whisper-base",
        agent_speaking: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self._transcriber = transcriber
        self._vad = vad
        self._model_name = model_name
        self.agent_speaking = agent_speaking or (lambda: False)
        self.decodes = DecodeLog()

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def provider(self) -> str:
        return "faster-whisper"

    @property
    def transcriber(self) -> WhisperTranscriber:
        return self._transcriber

    async def _recognize_impl(
        self, buffer: AudioBuffer, *, language: NotGivenOr[str] = NOT_GIVEN, conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        samples, rate = buffer_to_pcm16(buffer)
        lang = str(language) if is_given(language) and language else None
        return speech_event(await asyncio.to_thread(self._transcriber.transcribe, samples, rate, language=lang))

    def stream(
        self, *, language: NotGivenOr[str] = NOT_GIVEN, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> SpeculativeStream:
        return SpeculativeStream(self, language=str(language) if is_given(language) and language else None,
                                 conn_options=conn_options)

    def keep(self, text: str) -> Literal["", "filler", "backchannel", "empty"]:
        """Why a transcript is not sent ("filler", "backchannel", "empty"), or "" to send it."""
        if not text.strip():
            return "empty"
        if is_filler(text):
            return "filler"
        if is_backchannel(text) and self.agent_speaking():
            return "backchannel"
        return ""


class SpeculativeStream(stt.RecognizeStream):
    """One call's recognition: VAD segments accumulate until a decode finishes with the caller still silent."""

    def __init__(self, owner: SpeculativeWhisperSTT, *, language: str | None, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=owner, conn_options=conn_options)
        self._owner = owner
        self._language = language
        self._pending: list[rtc.AudioFrame] = []
        self._generation = 0
        self._decodes: set[asyncio.Task[None]] = set()
        self._failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def _run(self) -> None:
        vad_stream = self._owner._vad.stream()
        self._failed = asyncio.get_running_loop().create_future()
        tasks = [asyncio.create_task(self._forward(vad_stream), name="speculative-stt-forward"),
                 asyncio.create_task(self._listen(vad_stream), name="speculative-stt-listen")]
        work: asyncio.Future[Any] = asyncio.gather(*tasks)
        try:
            await asyncio.wait([work, self._failed], return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                work.result()
            if self._decodes and not self._failed.done():
                await asyncio.wait(list(self._decodes), timeout=30)
            if self._failed.done():  # not retried: the session hands the call to a human
                raise APIConnectionError("whisper decode failed", retryable=False) from self._failed.exception()
        finally:
            await utils.aio.cancel_and_wait(*tasks, *self._decodes)
            with contextlib.suppress(BaseException):
                await work
            await vad_stream.aclose()

    async def _forward(self, vad_stream: vad.VADStream) -> None:
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                vad_stream.flush()
            else:
                vad_stream.push_frame(item)
        vad_stream.end_input()

    async def _listen(self, vad_stream: vad.VADStream) -> None:
        async for event in vad_stream:
            if event.type == vad.VADEventType.START_OF_SPEECH:
                self._generation += 1  # a decode in flight is now stale: the caller resumed
                self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.START_OF_SPEECH))
            elif event.type == vad.VADEventType.END_OF_SPEECH:
                self._on_tentative_end(event)

    def _on_tentative_end(self, event: vad.VADEvent) -> None:
        speech_end = time.time() - event.silence_duration - event.inference_duration
        self._pending.append(utils.merge_frames(event.frames))
        record = self._owner.decodes.add(DecodeRecord(speech_end=speech_end, started=time.time()))
        self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.END_OF_SPEECH, speech_end_time=speech_end))
        task = asyncio.create_task(self._decode(list(self._pending), self._generation, record, speech_end))
        self._decodes.add(task)
        task.add_done_callback(self._decodes.discard)

    async def _decode(self, frames: list[rtc.AudioFrame], generation: int, record: DecodeRecord,
                      speech_end: float) -> None:
        samples, rate = buffer_to_pcm16(frames)
        try:
            result: Transcript = await asyncio.to_thread(self._owner.transcriber.transcribe, samples, rate,
                                                         language=self._language)
        except Exception as exc:  # reported by type through the session's error event, never the audio
            if not self._failed.done():
                self._failed.set_exception(exc)
            return
        record.finished, record.audio_s, record.decode_s = time.time(), result.duration_s, result.decode_s
        if generation != self._generation:
            record.outcome = "stale"
            return
        self._pending.clear()
        reason = self._owner.keep(result.text)
        record.outcome = reason or "sent"
        if not reason:
            self._send_final(result, speech_end)

    def _send_final(self, result: Transcript, speech_end: float) -> None:
        event = speech_event(result)
        with contextlib.suppress(Exception):
            self._event_ch.send_nowait(stt.SpeechEvent(type=event.type, request_id=event.request_id,
                                                       alternatives=event.alternatives, speech_end_time=speech_end))
