"""The packaged Whisper model (assembly, integrity) and real transcription of synthesised callers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import stt

from agent.audio import mulaw_decode
from agent.plugins import whisper_model
from agent.plugins.whisper_model import (
    MARKER,
    ModelSpec,
    WhisperModelError,
    ensure_packaged_model,
    load_model,
    resolve_model_dir,
)
from agent.plugins.whisper_stt import (
    WhisperOptions,
    WhisperSTT,
    WhisperTranscriber,
    build_prompt,
    build_stt,
    compression_ratio,
    max_new_tokens,
    utterance_confidence,
)
from tests.audio_synth import synth_pcm16, synth_phone_mulaw

pytestmark = pytest.mark.audio


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_packaged_model(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def model(model_dir: Path):
    return load_model(ModelSpec(model_dir))


@pytest.fixture(scope="module")
def transcriber(model) -> WhisperTranscriber:
    return WhisperTranscriber(model)


# --- the model files ---------------------------------------------------------------------------------


def test_assembly_writes_model_and_marker_once(tmp_path: Path) -> None:
    target = ensure_packaged_model(tmp_path)
    assert target == tmp_path / "models" / "whisper-base"
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        assert (target / name).is_file()
    marker = json.loads((target / MARKER).read_text())
    parts = [d / f"model.bin.part{i}" for i, d in enumerate(whisper_model.packaged_data_dirs(), start=1)]
    assert marker["size"] == (target / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert ensure_packaged_model(tmp_path) == target
    assert (target / "model.bin").stat().st_mtime_ns == mtime  # not rebuilt
    assert not list(target.glob(".*tmp*"))


def test_corruption_is_detected_and_repaired(tmp_path: Path) -> None:
    target = ensure_packaged_model(tmp_path)
    sha = json.loads((target / MARKER).read_text())["sha256"]
    with (target / "model.bin").open("r+b") as fh:  # same size, different bytes
        fh.seek(1_000_000)
        fh.write(b"\xff" * 64)
    ensure_packaged_model(tmp_path)
    assert whisper_model._sha256(target / "model.bin") == sha
    with (target / "model.bin").open("r+b") as fh:
        fh.truncate(1000)
    ensure_packaged_model(tmp_path)
    assert (target / "model.bin").stat().st_size == json.loads((target / MARKER).read_text())["size"]
    (target / MARKER).write_text("{not json")
    ensure_packaged_model(tmp_path, full_check=True)
    assert json.loads((target / MARKER).read_text())["sha256"] == sha


def test_a_crash_mid_copy_leaves_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(whisper_model.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        ensure_packaged_model(tmp_path)
    target = tmp_path / "models" / "whisper-base"
    assert not (target / "model.bin").exists()
    assert not (target / MARKER).exists()
    assert not list(target.glob(".model.bin.tmp*"))
    monkeypatch.undo()
    assert (ensure_packaged_model(tmp_path) / "model.bin").is_file()


def test_bad_whisper_model_setting_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WhisperModelError, match="not a directory"):
        resolve_model_dir(str(tmp_path / "nowhere"), tmp_path)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(WhisperModelError, match=r"not a CTranslate2 model directory: missing model.bin"):
        resolve_model_dir(str(tmp_path / "half"), tmp_path)
    with pytest.raises(WhisperModelError, match="WHISPER_MODEL"):
        load_model(ModelSpec(tmp_path / "half"))


def test_explicit_model_dir_is_accepted_and_loaded_once(model_dir: Path, model) -> None:
    assert resolve_model_dir(str(model_dir), Path("/nonexistent")) == model_dir
    assert load_model(ModelSpec(model_dir)) is model


# --- decoding helpers --------------------------------------------------------------------------------


def test_prompt_confidence_and_budget_helpers() -> None:
    assert build_prompt(["Dr Martin", "rendez-vous", "rendez-vous", " "]) == (
        "Cabinet médical, secrétariat : Dr Martin, rendez-vous."
    )
    assert build_prompt([]) == ""
    assert compression_ratio("ma " * 60) > 2.4 > compression_ratio("Je voudrais un rendez-vous demain.")
    sure = utterance_confidence(-0.1, 0.01, 1.1, truncated=False, text="oui")
    assert 0.85 < sure <= 1.0
    assert utterance_confidence(-0.1, 0.01, 1.1, truncated=True, text="oui") < 0.3
    assert utterance_confidence(-0.1, 0.9, 1.1, truncated=False, text="oui") < 0.15
    assert utterance_confidence(0.0, 0.0, 1.0, truncated=False, text=" ") == 0.0
    options = WhisperOptions()
    assert max_new_tokens(3.0, options) == 40
    assert max_new_tokens(300.0, options) == 220


# --- real transcription ------------------------------------------------------------------------------


def test_french_request_is_transcribed(transcriber: WhisperTranscriber) -> None:
    result = transcriber.transcribe(synth_pcm16("Je voudrais prendre rendez-vous."), 16000)
    assert "rendez-vous" in result.text.lower()
    assert result.language == "fr"
    assert result.confidence > 0.5
    assert 1.0 < result.duration_s < 4.0 and result.decode_s > 0


def test_phone_audio_is_upsampled_and_transcribed(transcriber: WhisperTranscriber) -> None:
    pcm8 = mulaw_decode(synth_phone_mulaw("Je voudrais renouveler mon ordonnance."))
    result = transcriber.transcribe(pcm8, 8000)
    assert "ordonnance" in result.text.lower()


def test_decoding_is_deterministic(transcriber: WhisperTranscriber) -> None:
    pcm = synth_pcm16("J'ai de la fièvre depuis trois jours.")
    assert transcriber.transcribe(pcm, 16000).text == transcriber.transcribe(pcm, 16000).text


def test_thirty_second_window_path_also_works(model) -> None:
    standard = WhisperTranscriber(model, WhisperOptions(short_window=False))
    result = standard.transcribe(synth_pcm16("Je voudrais prendre rendez-vous."), 16000)
    assert "rendez-vous" in result.text.lower()


def test_english_caller_is_detected(model) -> None:
    detecting = WhisperTranscriber(model, WhisperOptions(detect_language=True))
    english = detecting.transcribe(synth_pcm16("Hello, I would like to book an appointment.", "en"), 16000)
    assert english.language == "en"
    assert "appointment" in english.text.lower()
    french = detecting.transcribe(synth_pcm16("Je voudrais prendre rendez-vous."), 16000)
    assert french.language == "fr"


def test_noise_and_silence_get_low_confidence(transcriber: WhisperTranscriber) -> None:
    speech = transcriber.transcribe(synth_pcm16("Je voudrais prendre rendez-vous."), 16000)
    noise = np.random.default_rng(7).normal(0, 3000, 3 * 16000).astype(np.int16)
    for pcm in (noise, np.zeros(3 * 16000, np.int16)):
        other = transcriber.transcribe(pcm, 16000)
        assert other.confidence < 0.2 < speech.confidence
        assert other.no_speech_prob > 0.5
    assert transcriber.transcribe(np.zeros(100, np.int16), 16000).confidence == 0.0


def test_a_bounded_decoder_marks_a_cut_transcript_as_unreliable(model) -> None:
    pcm = synth_pcm16("Bonjour, je voudrais prendre rendez-vous avec le docteur la semaine prochaine.")
    full = WhisperTranscriber(model).transcribe(pcm, 16000)
    cut = WhisperTranscriber(model, WhisperOptions(tokens_per_second=0, min_new_tokens=3)).transcribe(pcm, 16000)
    assert cut.truncated and not full.truncated
    assert cut.confidence < 0.5 * full.confidence


# --- the livekit interface ---------------------------------------------------------------------------


def _frames(pcm: np.ndarray, rate: int, ms: int = 20) -> list[rtc.AudioFrame]:
    step = rate * ms // 1000
    return [
        rtc.AudioFrame(data=pcm[i : i + step].tobytes(), sample_rate=rate, num_channels=1,
                       samples_per_channel=len(pcm[i : i + step]))
        for i in range(0, len(pcm), step)
    ]


async def test_livekit_recognize_gives_a_final_transcript_with_confidence(transcriber: WhisperTranscriber) -> None:
    plugin = WhisperSTT(transcriber)
    assert not plugin.capabilities.streaming and not plugin.capabilities.interim_results
    pcm8 = mulaw_decode(synth_phone_mulaw("Je voudrais renouveler mon ordonnance."))
    event = await plugin.recognize(_frames(pcm8, 8000))
    assert event.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    data = event.alternatives[0]
    assert "ordonnance" in data.text.lower()
    assert data.language == "fr"
    assert 0.0 < data.confidence <= 1.0
    assert data.metadata is not None and data.metadata["truncated"] is False


async def test_recognition_does_not_block_the_event_loop(transcriber: WhisperTranscriber) -> None:
    plugin = WhisperSTT(transcriber)
    pcm = synth_pcm16("J'ai de la fièvre depuis trois jours et mal à la gorge.")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await plugin.recognize(_frames(pcm, 16000))
    elapsed = time.perf_counter() - started
    task.cancel()
    assert ticks >= 0.3 * elapsed / 0.01


async def test_build_stt_from_settings_and_update_options(tmp_path: Path, model_dir: Path) -> None:
    plugin = build_stt(whisper_model=str(model_dir), data_dir=tmp_path)
    assert plugin.model == "whisper-base" and plugin.provider == "faster-whisper"
    plugin.prewarm()
    plugin.update_options(vocabulary=("docteur Lefèvre",), detect_language=True)
    assert plugin.transcriber.options.detect_language
    assert plugin.transcriber.options.vocabulary == ("docteur Lefèvre",)
    with pytest.raises(WhisperModelError):
        build_stt(whisper_model=str(tmp_path / "nowhere"), data_dir=tmp_path)


def test_region_tagged_language_is_accepted(transcriber: WhisperTranscriber) -> None:
    result = transcriber.transcribe(synth_pcm16("Je voudrais prendre rendez-vous."), 16000, language="fr-FR")
    assert result.language == "fr" and "rendez-vous" in result.text.lower()
