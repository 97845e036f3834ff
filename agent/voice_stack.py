"""Load the process-wide voice models once (Silero VAD, Whisper STT, offline TTS voices, triage) for call runners."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from livekit.agents import llm, stt, tts, vad
from livekit.agents.voice.turn import TurnHandlingOptions

from agent.call_runner import VoiceStack
from agent.minimal_dialog import AcknowledgeLLM
from agent.plugins.barge_in_vad import ContinuousSpeechVAD
from agent.plugins.speculative_stt import SpeculativeWhisperSTT
from agent.plugins.tts import EspeakSynthesizer, OfflineTTS, SpeechSynthesizer, build_voices
from agent.plugins.whisper_model import ModelSpec, load_model, resolve_model_dir
from agent.plugins.whisper_stt import WhisperOptions, WhisperSTT, WhisperTranscriber
from agent.transports.media_stream import MULAW_RATE
from agent.triage_guard import Triage
from agent.turn_taking import TurnTiming, phone_turn_handling

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackConfig:
    """What the composition root chose (read from its settings)."""

    data_dir: Path
    whisper_model: str = ""
    piper_voice: str = ""
    cpu_threads: int = 2
    timing: TurnTiming = field(default_factory=TurnTiming)
    speculative: bool = True
    turn_detector: str = "heuristic"


@lru_cache(maxsize=4)
def load_vad(min_silence_s: float = 0.5) -> vad.VAD:
    """Silero VAD from the plugin's bundled ONNX file, loaded once per process."""
    from livekit.plugins import silero

    return silero.VAD.load(min_silence_duration=min_silence_s, prefix_padding_duration=0.3)


def make_stt_factory(config: StackConfig) -> Callable[[str], stt.STT[Any]]:
    """Per-call Whisper STT in the call's language, all on one model loaded once per process.

    Speculative by default: it decodes as soon as silence begins (`TurnTiming.speculate_after_s`).
    """
    path = resolve_model_dir(config.whisper_model, config.data_dir)
    model = load_model(ModelSpec(path=path, cpu_threads=config.cpu_threads))
    speculation_vad = load_vad(config.timing.speculate_after_s)

    def make_stt(lang: str) -> stt.STT[Any]:
        transcriber = WhisperTranscriber(model, WhisperOptions(language=lang))
        if config.speculative:
            return SpeculativeWhisperSTT(transcriber, vad=speculation_vad, model_name=path.name)
        return WhisperSTT(transcriber, model_name=path.name)

    return make_stt


def make_tts_factory(voices: Mapping[str, SpeechSynthesizer]) -> Callable[[str], tts.TTS[Any]]:
    """Per-call TTS at the phone's rate; a non-espeak voice gets espeak-ng as its fallback."""
    fallback = {"fr": EspeakSynthesizer("fr"), "en": EspeakSynthesizer("en-us")}

    def make_tts(lang: str) -> tts.TTS[Any]:
        primary = OfflineTTS(voices, sample_rate=MULAW_RATE, language=lang)
        if primary.voice_for(lang).name.startswith("espeak-ng"):
            return primary
        backup = OfflineTTS(fallback, sample_rate=MULAW_RATE, language=lang)
        return tts.FallbackAdapter([primary, backup], max_retry_per_tts=0, sample_rate=MULAW_RATE)

    return make_tts


def make_dialog(lang: str) -> llm.LLM[Any]:
    """The dialog until the offline protocol engine lands: a short acknowledgement."""
    return AcknowledgeLLM(lang=lang)


def turn_handling(config: StackConfig) -> TurnHandlingOptions:
    """Endpointing and barge-in: transcript heuristics (default) or livekit's bundled audio turn detector."""
    if config.turn_detector == "livekit-mini":
        from livekit.agents.inference.eot import TurnDetector

        return phone_turn_handling(config.timing, detector=TurnDetector(version="v1-mini"))
    return phone_turn_handling(config.timing)


def build_voice_stack(config: StackConfig, *, triage: Triage | None = None) -> VoiceStack:
    """Everything a call runner needs, warmed up (first call pays no loading cost)."""
    if triage is None:
        from escalation.triage import TriageEngine

        triage = TriageEngine.default()
    voices = build_voices(config.piper_voice)
    for voice in voices.values():
        voice.warm()
    session_vad = ContinuousSpeechVAD(load_vad(config.timing.vad_silence_s))
    stack = VoiceStack(vad=session_vad, make_stt=make_stt_factory(config),
                       make_tts=make_tts_factory(voices), triage=triage, make_llm=make_dialog,
                       turn_handling=turn_handling(config))
    log.info("voice stack ready", extra={"voices": sorted(voices)})
    return stack
