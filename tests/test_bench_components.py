"""Component benchmark: Whisper STT real-time factor and decode time, TTS time to first audio (prints a table).

Run: .venv/bin/pytest -m bench -s tests/test_bench_components.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from agent.audio import mulaw_decode
from agent.plugins.tts import OfflineTTS, build_voices
from agent.plugins.whisper_model import ModelSpec, ensure_packaged_model, load_model
from agent.plugins.whisper_stt import WhisperOptions, WhisperTranscriber
from tests.audio_synth import synth_pcm16, synth_phone_mulaw

pytestmark = pytest.mark.bench

UTTERANCES = [
    "Bonjour, je voudrais prendre un rendez-vous avec le docteur Martin.",
    "Je dois annuler mon rendez-vous de jeudi matin.",
    "J'ai de la fièvre depuis trois jours et mal à la gorge.",
    "Je voudrais renouveler mon ordonnance.",
    "C'est pour déplacer mon rendez-vous à la semaine prochaine.",
    "J'ai mal à la poitrine et je respire mal.",
]
REPLIES_FR = [
    "Bonjour, vous êtes bien au cabinet médical. Que puis-je faire pour vous ?",
    "Je vous propose mardi 12 mars à 14 h 30 avec le Dr Martin. Cela vous convient-il ?",
    "Votre rendez-vous est annulé. Souhaitez-vous en reprendre un autre ?",
    "Un instant, je vous passe une secrétaire.",
    "Si vous avez une douleur dans la poitrine, raccrochez et appelez le 15.",
    "Très bien, c'est noté. Au revoir et bonne journée.",
]
REPLIES_EN = [
    "Hello, you have reached the medical practice. How can I help you?",
    "I can offer Tuesday at half past two with Doctor Martin. Does that suit you?",
    "Your appointment is cancelled. Would you like another one?",
    "One moment, I am putting you through to a secretary.",
    "If you have chest pain, hang up and call fifteen.",
    "Very well, that is noted. Goodbye and have a nice day.",
]


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", re.sub(r"[-'’]", " ", text.lower())).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        prev, row[0] = row[:], i
        for j in range(1, len(hyp) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ref[i - 1] != hyp[j - 1]))
    return row[len(hyp)] / max(1, len(ref))


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def _stt_row(name: str, transcriber: WhisperTranscriber, audio: list[tuple[np.ndarray, int]], reps: int) -> str:
    transcriber.transcribe(*audio[0])  # warm-up
    decode, rtf, wer, conf = [], [], [], []
    for _ in range(reps):
        for reference, (pcm, rate) in zip(UTTERANCES, audio, strict=True):
            result = transcriber.transcribe(pcm, rate)
            decode.append(result.decode_s * 1000)
            rtf.append(result.decode_s / result.duration_s)
            wer.append(word_error_rate(reference, result.text))
            conf.append(result.confidence)
    return (f"{name:<30} {np.median(rtf):>6.2f} {_p(decode, 50):>8.0f} {_p(decode, 95):>8.0f} "
            f"{np.mean(wer):>6.2f} {np.mean(conf):>6.2f}")


def test_stt_components(tmp_path_factory: pytest.TempPathFactory) -> None:
    model = load_model(ModelSpec(ensure_packaged_model(tmp_path_factory.mktemp("data"))))
    wide = [(synth_pcm16(u), 16000) for u in UTTERANCES]
    phone = [(mulaw_decode(synth_phone_mulaw(u)), 8000) for u in UTTERANCES]
    durations = [len(pcm) / rate for pcm, rate in wide]
    assert all(2.0 <= d <= 5.0 for d in durations), durations
    short, full = WhisperTranscriber(model), WhisperTranscriber(model, WhisperOptions(short_window=False))
    rows = [
        _stt_row("short window 10 s, 16 kHz", short, wide, 2),
        _stt_row("short window 10 s, phone 8k μ", short, phone, 2),
        _stt_row("30 s window, 16 kHz", full, wide, 1),
        _stt_row("30 s window, phone 8k μ", full, phone, 1),
    ]
    print(f"\nSTT whisper-base int8, {len(UTTERANCES)} French utterances of "
          f"{min(durations):.1f}-{max(durations):.1f} s")
    print(f"{'mode':<30} {'RTF':>6} {'p50 ms':>8} {'p95 ms':>8} {'WER':>6} {'conf':>6}")
    print("\n".join(rows))
    assert float(rows[0].split()[-5]) < 1.0  # real-time factor of the default mode


async def _first_audio(tts: OfflineTTS, text: str) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    async for _ in tts.synthesize(text):
        first = first if first is not None else time.perf_counter() - started
    assert first is not None
    return first * 1000, (time.perf_counter() - started) * 1000


async def test_tts_components() -> None:
    voices = build_voices()
    rows = []
    for language, replies in (("fr", REPLIES_FR), ("en", REPLIES_EN)):
        tts = OfflineTTS(voices, sample_rate=8000, language=language)
        tts.prewarm()
        firsts, totals = [], []
        for _ in range(3):
            for reply in replies:
                first, total = await _first_audio(tts, reply)
                firsts.append(first)
                totals.append(total)
        rows.append(f"{tts.model:<26} {_p(firsts, 50):>9.0f} {_p(firsts, 95):>9.0f} {_p(totals, 50):>9.0f}")
        assert _p(firsts, 95) < 1000
    print("\nTTS time to first audio through livekit's ChunkedStream, 8 kHz output, 6 replies x 3")
    print(f"{'voice':<26} {'first p50':>9} {'first p95':>9} {'all p50':>9}  (ms)")
    print("\n".join(rows))


def test_word_error_rate_helper() -> None:
    assert word_error_rate("Je voudrais un rendez-vous.", "je voudrais un rendez vous") == 0.0
    assert word_error_rate("a b c d", "a x c") == 0.5
    assert Path(__file__).name == "test_bench_components.py"
