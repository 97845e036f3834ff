"""Offline TTS: espeak-ng French, the packaged Piper English voice, sentence streaming, the livekit interface."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import numpy as np
import pytest
from livekit.agents import APIError

from agent.audio import Int16Array, rms_dbfs
from agent.plugins.tts import (
    EspeakSynthesizer,
    OfflineTTS,
    PiperSynthesizer,
    TTSBackendError,
    build_tts,
    build_voices,
    packaged_english_voice,
    speech_chunks,
    split_sentences,
    trim_silence,
)

pytestmark = pytest.mark.audio


class SlowFakeVoice:
    """In-memory voice: a 0.5 s tone per chunk, taking `delay` seconds; records what it was asked."""

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay
        self.calls: list[str] = []

    @property
    def sample_rate(self) -> int:
        return 16000

    @property
    def name(self) -> str:
        return "fake"

    def synthesize(self, text: str) -> Int16Array:
        time.sleep(self.delay)
        self.calls.append(text)
        t = np.arange(8000) / 16000
        return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)

    def warm(self) -> None:
        pass


@pytest.fixture(scope="module")
def voices() -> dict:
    return build_voices()


async def _collect(tts: OfflineTTS, text: str) -> tuple[np.ndarray, int, float, float]:
    """All samples, their rate, seconds to the first frame and seconds to the end."""
    started = time.perf_counter()
    first, chunks, rate = None, [], 0
    async for event in tts.synthesize(text):
        first = first if first is not None else time.perf_counter() - started
        chunks.append(np.frombuffer(bytes(event.frame.data), np.int16))
        rate = event.frame.sample_rate
    assert first is not None
    return np.concatenate(chunks), rate, first, time.perf_counter() - started


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
async def test_espeak_french_at_the_requested_rate(voices: dict, rate: int) -> None:
    tts = OfflineTTS(voices, sample_rate=rate, language="fr")
    pcm, got_rate, first, _ = await _collect(tts, "Bonjour, vous êtes bien au cabinet médical.")
    assert got_rate == rate
    assert 1.0 < len(pcm) / rate < 6.0
    assert rms_dbfs(pcm) > -35
    assert first < 1.0


async def test_piper_joe_voice_for_english(voices: dict) -> None:
    assert isinstance(voices["en"], PiperSynthesizer)
    tts = OfflineTTS(voices, sample_rate=8000, language="fr")
    tts.update_options(language="en-US")
    assert tts.language == "en" and tts.model == "piper:en_US-joe-medium"
    pcm, rate, _, _ = await _collect(tts, "Hello, you have reached the medical practice.")
    assert rate == 8000 and rms_dbfs(pcm) > -35 and len(pcm) / rate > 1.0


async def test_first_sentence_is_pushed_before_the_rest_is_synthesised() -> None:
    fake = SlowFakeVoice(delay=0.2)
    tts = OfflineTTS({"fr": fake}, sample_rate=8000)
    started = time.perf_counter()
    stream = tts.synthesize("Première phrase. Deuxième phrase. Troisième phrase.")
    first = await stream.__anext__()
    first_s, done_at_first = time.perf_counter() - started, len(fake.calls)
    frames = [first] + [event async for event in stream]
    total_s = time.perf_counter() - started
    assert done_at_first == 1 and first_s < 0.45 < total_s
    assert fake.calls == ["Première phrase.", "Deuxième phrase.", "Troisième phrase."]
    total = sum(f.frame.samples_per_channel for f in frames)
    assert 3 * 4000 <= total <= 3 * 4000 + 80  # livekit may close with a 10 ms end marker
    assert all(f.frame.sample_rate == 8000 for f in frames)


async def test_real_voice_streams_sentence_by_sentence(voices: dict) -> None:
    tts = OfflineTTS(voices, sample_rate=16000, language="en")
    text = "Hello. " + " ".join(["This is a much longer second sentence that takes a while to synthesise."] * 3)
    _, _, first, total = await _collect(tts, text)
    assert first < 0.6 * total


async def test_text_is_normalised_for_french_speech() -> None:
    fake = SlowFakeVoice(delay=0)
    tts = OfflineTTS({"fr": fake}, today=lambda: dt.date(2026, 3, 1))
    await _collect(tts, "RDV avec le Dr Martin le 12/03 à 14 h 30. Rappel au 06 12 34 56 78.")
    assert fake.calls == [
        "rendez-vous avec le docteur Martin le jeudi douze mars à quatorze heures trente.",
        "Rappel au zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit.",
    ]


def test_sentence_chunking() -> None:
    assert split_sentences("Bonjour. Comment allez-vous ?\nTrès bien !") == [
        "Bonjour.", "Comment allez-vous ?", "Très bien !",
    ]
    long_first = "Votre rendez-vous est confirmé pour demain matin, avec le docteur Martin, au cabinet. Merci."
    assert speech_chunks(long_first) == [
        "Votre rendez-vous est confirmé pour demain matin,", "avec le docteur Martin, au cabinet.", "Merci.",
    ]
    assert speech_chunks("") == []


def test_trim_silence_keeps_the_voice() -> None:
    pcm = np.concatenate([np.zeros(8000, np.int16), np.full(1600, 5000, np.int16), np.zeros(8000, np.int16)])
    trimmed = trim_silence(pcm, 16000)
    assert len(trimmed) == 480 + 1600 + 1920 - 1
    assert len(trim_silence(np.zeros(100, np.int16), 16000)) == 0


def test_voice_choice_and_configuration_errors(tmp_path: Path) -> None:
    joe = packaged_english_voice()
    assert joe is not None and joe.name == "en_US-joe-medium.onnx"
    voices = build_voices(str(joe))
    assert isinstance(voices["en"], PiperSynthesizer) and isinstance(voices["fr"], EspeakSynthesizer)
    tts = build_tts(piper_voice=str(joe), sample_rate=8000)
    assert tts.sample_rate == 8000 and tts.voice_for("de").name == "espeak-ng:fr"
    with pytest.raises(TTSBackendError, match="PIPER_VOICE"):
        build_voices(str(tmp_path / "missing.onnx"))
    with pytest.raises(TTSBackendError, match="not installed"):
        EspeakSynthesizer(executable="no-such-espeak")
    with pytest.raises(TTSBackendError):
        OfflineTTS({})


async def test_a_failing_voice_surfaces_as_an_api_error() -> None:
    class BrokenVoice(SlowFakeVoice):
        def synthesize(self, text: str) -> Int16Array:
            raise TTSBackendError("voice crashed")

    tts = OfflineTTS({"fr": BrokenVoice()})
    with pytest.raises(APIError, match="voice crashed"):
        await asyncio.wait_for(_collect(tts, "Bonjour."), timeout=5)


async def test_tts_output_is_understood_by_the_stt(voices: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    from agent.plugins.whisper_model import ModelSpec, ensure_packaged_model, load_model
    from agent.plugins.whisper_stt import WhisperOptions, WhisperTranscriber

    model = load_model(ModelSpec(ensure_packaged_model(tmp_path_factory.mktemp("data"))))
    transcriber = WhisperTranscriber(model, WhisperOptions(detect_language=True))
    tts = OfflineTTS(voices, sample_rate=16000, language="en")
    pcm, rate, _, _ = await _collect(tts, "I would like to book an appointment.")
    result = transcriber.transcribe(pcm, rate)
    assert result.language == "en" and "appointment" in result.text.lower()
