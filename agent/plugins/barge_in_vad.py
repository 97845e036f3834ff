"""A VAD wrapper for barge-in: the session interrupts on continuous speech, not on speech plus its silence hangover."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

from livekit.agents import vad


class ContinuousSpeechVAD(vad.VAD):
    """Wraps a VAD; inference events carry the continuous speech so far as `speech_duration`.

    livekit interrupts the agent once a VAD event's `speech_duration` reaches `interruption.min_duration`.
    Silero's `speech_duration` keeps growing through the `min_silence_duration` hangover after a sound ends,
    so a 0.2 s "euh" reads as 0.5 s of speech and interrupts. Reporting the continuous raw speech instead, a
    short filler stays short and continuous speech still interrupts as soon as it reaches the threshold.
    Start/end-of-speech events (endpointing) are untouched.
    """

    def __init__(self, inner: vad.VAD) -> None:
        super().__init__(capabilities=inner.capabilities)
        self._inner = inner

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def provider(self) -> str:
        return self._inner.provider

    @property
    def min_silence_duration(self) -> float | None:
        return getattr(self._inner, "min_silence_duration", None)

    def stream(self) -> vad.VADStream:
        return _ContinuousSpeechStream(self, self._inner.stream())


class _ContinuousSpeechStream(vad.VADStream):
    def __init__(self, owner: ContinuousSpeechVAD, inner: vad.VADStream) -> None:
        self._inner = inner
        super().__init__(owner)

    async def _main_task(self) -> None:
        forward = asyncio.create_task(self._forward(), name="continuous-speech-vad-forward")
        try:
            async for event in self._inner:
                self._event_ch.send_nowait(continuous(event))
        finally:
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward
            await self._inner.aclose()

    async def _forward(self) -> None:
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                self._inner.flush()
            else:
                self._inner.push_frame(item)
        self._inner.end_input()


def continuous(event: vad.VADEvent) -> vad.VADEvent:
    """The event with `speech_duration` = continuous raw speech, for inference events."""
    if event.type != vad.VADEventType.INFERENCE_DONE:
        return event
    return replace(event, speech_duration=event.raw_accumulated_speech)
