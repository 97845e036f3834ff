"""Test helper: synthesise caller sentences with espeak-ng + sox (no dither), cached in a temp dir."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

CACHE_DIR = Path(tempfile.gettempdir()) / "permanence-test-audio"
VOICES = {"fr": "fr", "en": "en-us"}


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:20]


def _espeak(text: str, language: str, speed: int) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    out = CACHE_DIR / f"espeak-{_key(text, language, speed)}.wav"
    if not out.exists():
        tmp = out.with_suffix(".tmp.wav")
        subprocess.run(
            ["espeak-ng", "-v", VOICES[language], "-s", str(speed), "-w", str(tmp), text],
            check=True,
            capture_output=True,
        )
        tmp.replace(out)
    return out


def synth_wav(text: str, language: str = "fr", *, rate: int = 16000, mulaw: bool = False, speed: int = 160) -> Path:
    """A WAV file of `text` spoken by espeak-ng: 16-bit PCM, or 8-bit μ-law when `mulaw`."""
    src = _espeak(text, language, speed)
    out = CACHE_DIR / f"{_key(text, language, speed, rate, mulaw)}.wav"
    if not out.exists():
        tmp = out.with_suffix(".tmp.wav")
        encoding = ["-e", "mu-law", "-b", "8"] if mulaw else ["-e", "signed-integer", "-b", "16"]
        subprocess.run(
            ["sox", "-D", str(src), "-r", str(rate), "-c", "1", *encoding, str(tmp)],
            check=True,
            capture_output=True,
        )
        tmp.replace(out)
    return out


def synth_pcm16(text: str, language: str = "fr", *, rate: int = 16000, speed: int = 160) -> np.ndarray:
    """`text` as int16 samples at `rate` (16-bit PCM through sox, no dither)."""
    with wave.open(str(synth_wav(text, language, rate=rate, speed=speed)), "rb") as wf:
        return np.frombuffer(wf.readframes(wf.getnframes()), dtype=np.int16).copy()


def synth_phone_mulaw(text: str, language: str = "fr", *, speed: int = 160) -> bytes:
    """`text` as the raw 8 kHz μ-law bytes a phone call would carry."""
    data = synth_wav(text, language, rate=8000, mulaw=True, speed=speed).read_bytes()
    pos = 12
    while data[pos : pos + 4] != b"data":  # the wave module cannot read μ-law (format 7)
        pos += 8 + int.from_bytes(data[pos + 4 : pos + 8], "little")
    size = int.from_bytes(data[pos + 4 : pos + 8], "little")
    return data[pos + 8 : pos + 8 + size]
