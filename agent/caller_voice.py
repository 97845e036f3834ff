"""A simulated caller's voice: text (espeak-ng, Piper for English) or a WAV file as 8 kHz μ-law phone audio."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.audio import Int16Array, decode_wav, mulaw_encode, read_wav, resample_pcm16
from agent.plugins.tts import PiperSynthesizer, packaged_english_voice
from agent.transports.media_stream import MULAW_RATE

VOICES = {"fr": "fr", "en": "en-us"}


class CallerVoiceError(RuntimeError):
    """The caller's audio could not be made (espeak-ng missing, unreadable WAV)."""


def speak_pcm16(text: str, lang: str = "fr", *, words_per_minute: int = 160) -> tuple[Int16Array, int]:
    """espeak-ng's rendering of `text` (samples, rate); deterministic for a given text and voice."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise CallerVoiceError("espeak-ng is not installed")
    command = [exe, "-v", VOICES.get(lang, lang), "-s", str(words_per_minute), "-b", "1", "--stdout"]
    try:
        proc = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise CallerVoiceError("espeak-ng failed") from exc
    audio = decode_wav(proc.stdout)
    return audio.samples, audio.sample_rate


def trim(pcm: Int16Array, rate: int, *, threshold: int = 300, keep_s: float = 0.02) -> Int16Array:
    """Drop leading and trailing silence so "end of speech" is the end of the audio."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold)
    if len(loud) == 0:
        return pcm[:0]
    keep = int(keep_s * rate)
    return pcm[max(0, int(loud[0]) - keep) : min(len(pcm), int(loud[-1]) + keep)]


def to_phone(pcm: Int16Array, rate: int) -> bytes:
    """Mono int16 at any rate → 8 kHz μ-law bytes."""
    return mulaw_encode(resample_pcm16(np.asarray(pcm, dtype=np.int16), rate, MULAW_RATE))


def say_mulaw(text: str, lang: str = "fr", *, words_per_minute: int = 160) -> bytes:
    """`text` as phone audio, silences trimmed: espeak-ng, or the packaged Piper voice for English."""
    piper = _english_piper() if lang == "en" else None
    if piper is not None:
        pcm, rate = piper.synthesize(text), piper.sample_rate
    else:
        pcm, rate = speak_pcm16(text, lang, words_per_minute=words_per_minute)
    return to_phone(trim(pcm, rate), rate)


@lru_cache(maxsize=1)
def _english_piper() -> PiperSynthesizer | None:
    path = packaged_english_voice()
    return PiperSynthesizer(path) if path else None


def wav_mulaw(path: str | Path) -> bytes:
    """A WAV file (PCM or μ-law, any rate and channel count) as phone audio, silences trimmed."""
    try:
        audio = read_wav(path)
    except (OSError, ValueError) as exc:
        raise CallerVoiceError(f"cannot read {path}") from exc
    return to_phone(trim(audio.samples, audio.sample_rate), audio.sample_rate)
