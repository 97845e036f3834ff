"""faster-whisper speech recognition: a bounded, deterministic transcriber and its livekit `stt.STT` plugin."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from livekit import rtc
from livekit.agents import stt
from livekit.agents.language import LanguageCode
from livekit.agents.types import NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.agents.utils import AudioBuffer, is_given

from agent.audio import pcm16_to_float, resample_pcm16
from agent.plugins.whisper_model import ModelSpec, load_model, resolve_model_dir

WHISPER_RATE = 16000
FULL_WINDOW_FRAMES = 3000
DEFAULT_VOCABULARY = ("rendez-vous", "ordonnance", "docteur", "cabinet", "annuler", "consultation")
PromptMode = Literal["initial_prompt", "hotwords", "none"]


@dataclass(frozen=True)
class WhisperOptions:
    """Decoding settings; the defaults are deterministic, greedy and bounded."""

    language: str = "fr"
    detect_language: bool = False
    allowed_languages: tuple[str, ...] = ("fr", "en")
    vocabulary: tuple[str, ...] = DEFAULT_VOCABULARY
    prompt_mode: PromptMode = "initial_prompt"
    short_window: bool = True
    window_frames: int = 1000
    pad_with: Literal["zeros", "silence"] = "zeros"
    no_repeat_ngram_size: int = 3
    repetition_penalty: float = 1.0
    tokens_per_second: float = 8.0
    min_new_tokens: int = 16
    compression_ratio_threshold: float = 2.4


@dataclass(frozen=True)
class Transcript:
    """One utterance's text and how far to trust it."""

    text: str
    language: str
    confidence: float
    duration_s: float
    decode_s: float
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    truncated: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def build_prompt(vocabulary: Sequence[str], language: str = "fr") -> str:
    """A short natural prompt carrying the practice's words (names, "rendez-vous", symptoms)."""
    words = list(dict.fromkeys(w.strip() for w in vocabulary if w.strip()))
    if not words:
        return ""
    if language == "fr":
        return "Cabinet médical, secrétariat : " + ", ".join(words) + "."
    return "Medical practice, front desk: " + ", ".join(words) + "."


def compression_ratio(text: str) -> float:
    """gzip-style compression ratio of the text; loops compress well (> 2.4)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def utterance_confidence(
    avg_logprob: float, no_speech_prob: float, ratio: float, *, truncated: bool, text: str
) -> float:
    """Confidence in [0, 1]: mean token probability, times speech probability, with loops punished."""
    if not text.strip():
        return 0.0
    confidence = math.exp(min(0.0, avg_logprob)) * (1.0 - no_speech_prob)
    if truncated or ratio > 2.4:
        confidence *= 0.25
    return float(min(1.0, max(0.0, confidence)))


def max_new_tokens(duration_s: float, options: WhisperOptions) -> int:
    """Decoder budget from the audio length (speech rarely exceeds ~6 tokens/s)."""
    budget = math.ceil(duration_s * options.tokens_per_second) + options.min_new_tokens
    return int(min(budget, 220))


class WhisperTranscriber:
    """Synchronous transcriber around one loaded `faster_whisper.WhisperModel`; callable from worker threads."""

    def __init__(self, model: Any, options: WhisperOptions | None = None) -> None:
        self.model = model
        self.options = options or WhisperOptions()
        self._tokenizers: dict[str, tuple[Any, list[int]]] = {}

    def transcribe(
        self, pcm16: npt.NDArray[np.int16], sample_rate: int, *, language: str | None = None
    ) -> Transcript:
        """Transcribe one utterance of int16 mono samples at any rate."""
        started = time.perf_counter()
        language = language.split("-")[0].lower() if language else None
        audio = pcm16_to_float(resample_pcm16(np.asarray(pcm16, dtype=np.int16), sample_rate, WHISPER_RATE))
        duration = len(audio) / WHISPER_RATE
        if duration < 0.1:
            return Transcript("", language or self.options.language, 0.0, duration, 0.0)
        content_frames = len(audio) // self.model.feature_extractor.hop_length + 1
        if self.options.short_window and content_frames <= FULL_WINDOW_FRAMES:
            result = self._decode_direct(self._features(audio), duration, language)
        else:
            result = self._decode_standard(audio, duration, language)
        return replace(result, decode_s=time.perf_counter() - started)

    # -- direct path: encoder on a short window, then one bounded greedy generate --------------------

    def _features(self, audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Log-mel features padded to the window: with zeros (as faster-whisper pads) or silent audio."""
        extractor = self.model.feature_extractor
        frames = self._window_frames(len(audio) // extractor.hop_length + 1)
        if self.options.pad_with == "silence":
            audio = np.pad(audio, (0, max(0, frames * extractor.hop_length - len(audio))))
        feats: npt.NDArray[np.float32] = extractor(audio)[:, :-1]
        return np.pad(feats[:, :frames], ((0, 0), (0, max(0, frames - feats.shape[-1]))))

    def _window_frames(self, content_frames: int) -> int:
        window = self.options.window_frames
        while window < content_frames:
            window += 500
        return min(window, FULL_WINDOW_FRAMES)

    def _tokenizer(self, language: str) -> tuple[Any, list[int]]:
        """The tokenizer for a language and its suppressed tokens, built once."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        if language not in self._tokenizers:
            tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe",
                                  language=language)
            self._tokenizers[language] = (tokenizer, list(get_suppressed_tokens(tokenizer, (-1,)) or []))
        return self._tokenizers[language]

    def _choose_language(self, encoder_output: Any, language: str | None) -> tuple[str, float]:
        if language:
            return language, 1.0
        if not self.options.detect_language or not self.model.model.is_multilingual:
            return self.options.language, 1.0
        probs = dict(self.model.model.detect_language(encoder_output)[0])
        allowed = {lang: probs.get(f"<|{lang}|>", 0.0) for lang in self.options.allowed_languages}
        best = max(allowed, key=lambda lang: allowed[lang])
        return best, float(allowed[best])

    def _prompt(self, tokenizer: Any, language: str) -> list[int]:
        text = build_prompt(self.options.vocabulary, language)
        previous: list[int] = []
        hotwords = None
        if text and self.options.prompt_mode == "initial_prompt":
            previous = tokenizer.encode(" " + text)
        elif text and self.options.prompt_mode == "hotwords":
            hotwords = text
        prompt: list[int] = self.model.get_prompt(tokenizer, previous, without_timestamps=True, hotwords=hotwords)
        return prompt

    def _decode_direct(self, features: npt.NDArray[np.float32], duration: float, language: str | None) -> Transcript:
        encoder_output = self.model.encode(features)
        lang, lang_prob = self._choose_language(encoder_output, language)
        tokenizer, suppressed = self._tokenizer(lang)
        prompt = self._prompt(tokenizer, lang)
        budget = max_new_tokens(duration, self.options)
        result = self.model.model.generate(
            encoder_output,
            [prompt],
            beam_size=1,
            max_length=len(prompt) + budget,
            return_scores=True,
            return_no_speech_prob=True,
            no_repeat_ngram_size=self.options.no_repeat_ngram_size,
            repetition_penalty=self.options.repetition_penalty,
            suppress_blank=True,
            suppress_tokens=suppressed,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = tokenizer.decode(tokens).strip()
        return self._transcript(text, lang, duration, avg_logprob, result.no_speech_prob,
                                truncated=len(result.sequences_ids[0]) >= budget, language_prob=lang_prob)

    # -- standard path: faster-whisper's own transcribe (30 s windows, any length) --------------------

    def _decode_standard(self, audio: npt.NDArray[np.float32], duration: float, language: str | None) -> Transcript:
        lang = language or (None if self.options.detect_language else self.options.language)
        prompt = build_prompt(self.options.vocabulary, lang or self.options.language)
        segments, info = self.model.transcribe(
            audio,
            language=lang,
            beam_size=1,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            no_repeat_ngram_size=self.options.no_repeat_ngram_size,
            repetition_penalty=self.options.repetition_penalty,
            max_new_tokens=max_new_tokens(min(duration, 30.0), self.options),
            compression_ratio_threshold=None,
            log_prob_threshold=None,
            no_speech_threshold=None,
            initial_prompt=prompt if self.options.prompt_mode == "initial_prompt" and prompt else None,
            hotwords=prompt if self.options.prompt_mode == "hotwords" and prompt else None,
        )
        segs = list(segments)
        if info.language not in self.options.allowed_languages and not language:
            return self._decode_standard(audio, duration, self.options.language)
        text = " ".join(s.text.strip() for s in segs).strip()
        logprob = float(np.mean([s.avg_logprob for s in segs])) if segs else -10.0
        no_speech = float(np.max([s.no_speech_prob for s in segs])) if segs else 1.0
        return self._transcript(text, info.language, duration, logprob, no_speech, truncated=False,
                                language_prob=float(info.language_probability))

    def _transcript(
        self, text: str, language: str, duration: float, avg_logprob: float, no_speech: float,
        *, truncated: bool, language_prob: float,
    ) -> Transcript:
        ratio = compression_ratio(text)
        loop = truncated or ratio > self.options.compression_ratio_threshold
        confidence = utterance_confidence(avg_logprob, no_speech, ratio, truncated=loop, text=text)
        return Transcript(
            text=text, language=language, confidence=confidence, duration_s=duration, decode_s=0.0,
            avg_logprob=float(avg_logprob), no_speech_prob=float(no_speech), compression_ratio=ratio,
            truncated=truncated, details={"language_probability": language_prob},
        )


def buffer_to_pcm16(buffer: AudioBuffer) -> tuple[npt.NDArray[np.int16], int]:
    """A livekit AudioBuffer (one frame or a list) as mono int16 samples and their rate."""
    frame = rtc.combine_audio_frames(buffer) if isinstance(buffer, list) else buffer
    samples = np.frombuffer(bytes(frame.data), dtype=np.int16)
    if frame.num_channels > 1:
        samples = samples.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    return samples, frame.sample_rate


class WhisperSTT(stt.STT[Literal["metrics_collected", "error"]]):
    """Non-streaming livekit STT on faster-whisper; the session wraps it in a StreamAdapter with its VAD."""

    def __init__(self, transcriber: WhisperTranscriber, *, model_name: str = "whisper-base") -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._transcriber = transcriber
        self._model_name = model_name

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def provider(self) -> str:
        return "faster-whisper"

    @property
    def transcriber(self) -> WhisperTranscriber:
        return self._transcriber

    def update_options(self, **changes: Any) -> None:
        """Change decoding options (e.g. `vocabulary=` for a practice, `detect_language=True`)."""
        self._transcriber.options = replace(self._transcriber.options, **changes)

    def prewarm(self) -> None:
        """Run one decode on silence so the first caller does not pay for cold caches."""
        self._transcriber.transcribe(np.zeros(WHISPER_RATE // 2, np.int16), WHISPER_RATE)

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        samples, rate = buffer_to_pcm16(buffer)
        lang = str(language) if is_given(language) and language else None
        result = await asyncio.to_thread(self._transcriber.transcribe, samples, rate, language=lang)
        return speech_event(result)


def build_stt(
    *, whisper_model: str, data_dir: Path, options: WhisperOptions | None = None, cpu_threads: int = 2
) -> WhisperSTT:
    """The STT for a process: WHISPER_MODEL if set, else the packaged base model (loaded once)."""
    path = resolve_model_dir(whisper_model, data_dir)
    model = load_model(ModelSpec(path, cpu_threads=cpu_threads))
    return WhisperSTT(WhisperTranscriber(model, options), model_name=path.name)


def speech_event(result: Transcript) -> stt.SpeechEvent:
    """The FINAL_TRANSCRIPT event carrying the transcript and its confidence."""
    data = stt.SpeechData(
        language=LanguageCode(result.language),
        text=result.text,
        start_time=0.0,
        end_time=result.duration_s,
        confidence=result.confidence,
        metadata={
            "avg_logprob": result.avg_logprob,
            "no_speech_prob": result.no_speech_prob,
            "compression_ratio": result.compression_ratio,
            "truncated": result.truncated,
            "decode_s": result.decode_s,
        },
    )
    return stt.SpeechEvent(
        type=stt.SpeechEventType.FINAL_TRANSCRIPT, request_id=uuid.uuid4().hex, alternatives=[data]
    )
