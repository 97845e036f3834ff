"""The agent's voice resampled to 8 kHz frame by frame equals the whole-signal resampling (no frame-edge clicks)."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import pytest
from livekit import rtc

from agent.audio import mulaw_decode, mulaw_encode, resample
from agent.transports.media_stream_io import MediaStreamAudioOutput

pytestmark = pytest.mark.unit


async def test_agent_audio_at_16k_is_resampled_without_frame_edges() -> None:
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    output = MediaStreamAudioOutput(send, "MZ1", max_lead_s=None)
    t = np.arange(16000) / 16000
    signal = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    for start in range(0, len(signal), 160):  # 10 ms frames, as a TTS would push them
        chunk = signal[start : start + 160]
        await output.capture_frame(rtc.AudioFrame(chunk.tobytes(), 16000, 1, len(chunk)))
    output.flush()
    await asyncio.sleep(0.1)
    await output.aclose()
    payload = b"".join(base64.b64decode(json.loads(m)["media"]["payload"]) for m in sent if '"media"' in m)
    whole = np.clip(np.round(resample(signal, 16000, 8000)), -32768, 32767).astype(np.int16)
    assert len(payload) == len(whole)
    assert np.array_equal(mulaw_decode(payload), mulaw_decode(mulaw_encode(whole)))
