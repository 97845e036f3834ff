"""Turn-taking on real audio over the media-stream WebSocket: dictation pauses, fillers, barge-in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIConnectionError

from agent.audio import mulaw_decode
from agent.bench import gateway_app, talk_over_greeting
from agent.call_command import SummaryInbox, serving
from agent.call_runner import CallOptions, CallRunner, VoiceStack
from agent.call_state import CallSummary
from agent.call_store import MemoryCallStore
from agent.caller_voice import say_mulaw
from agent.phone_client import CallerTurn, PhoneClient
from agent.plugins.speculative_stt import SpeculativeWhisperSTT
from agent.plugins.whisper_stt import WhisperTranscriber
from agent.transports.media_stream import MULAW_RATE
from agent.turn_taking import dictation_unfinished, is_backchannel, is_filler, turn_incomplete
from agent.voice_stack import StackConfig, build_voice_stack, load_vad

SILENCE_BYTE = b"\xff"


def pause(seconds: float) -> bytes:
    return SILENCE_BYTE * int(seconds * MULAW_RATE)


@pytest.mark.unit
@pytest.mark.parametrize("text", ["Mon numéro c'est le 06 12", "zéro six douze", "Je suis née le 12 mars",
                                  "Alors euh", "Je voudrais un rendez-vous avec", "06 12 34,"])
def test_incomplete_turns(text: str) -> None:
    assert turn_incomplete(text)


@pytest.mark.unit
@pytest.mark.parametrize("text", ["Je voudrais un rendez-vous.", "Est-ce que vous êtes ouverts samedi ?",
                                  "Mon numéro est le 06 12 34 56 78 ?", "Merci beaucoup.", ""])
def test_complete_turns(text: str) -> None:
    assert not turn_incomplete(text)


@pytest.mark.unit
def test_an_answer_to_a_number_question_waits_for_the_whole_number() -> None:
    asked = "Quel est votre numéro de téléphone ?"
    assert dictation_unfinished("Oui, c'est le 06 12", asked)
    assert dictation_unfinished("Moulymeho", asked)  # misheard digits: keep listening
    assert not dictation_unfinished("06 12 34 56 78", asked)
    assert not dictation_unfinished("Je voudrais un rendez-vous.", "Que puis-je faire pour vous ?")
    assert not turn_incomplete("Je suis né le 12 mars 1985.")


@pytest.mark.unit
def test_the_stt_drops_fillers_always_and_backchannels_while_the_agent_speaks() -> None:
    speaking = [True]
    stt = SpeculativeWhisperSTT(WhisperTranscriber(model=None), vad=load_vad(0.1),
                                agent_speaking=lambda: speaking[0])
    assert stt.keep("Euh...") == "filler" and stt.keep("Oui.") == "backchannel" and stt.keep("") == "empty"
    assert stt.keep("Oui, je voudrais annuler.") == ""
    speaking[0] = False
    assert stt.keep("Oui.") == "" and stt.keep("Hum.") == "filler"


@pytest.mark.unit
def test_fillers_and_backchannels() -> None:
    assert is_filler("Euh...") and is_filler("Hum.") and is_filler("")
    assert not is_filler("Euh, je voudrais un rendez-vous.")
    assert is_backchannel("Oui.") and is_backchannel("D'accord, d'accord.") and is_backchannel("Mmh")
    assert not is_backchannel("Oui, je voudrais annuler.")


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> VoiceStack:
    return build_voice_stack(StackConfig(data_dir=tmp_path_factory.mktemp("turn-data")))


@pytest.fixture
def server(voice: VoiceStack) -> Iterator[tuple[str, SummaryInbox]]:
    inbox = SummaryInbox()
    runner = CallRunner(stack=voice, store=MemoryCallStore(), on_call_end=inbox.put, options=CallOptions())
    with serving(gateway_app(runner)) as base:
        yield f"{base}/media-stream", inbox


def caller_lines(summary: CallSummary | None) -> list[str]:
    assert summary is not None
    return [t.text for t in summary.turns if t.speaker == "caller"]


@pytest.mark.audio
async def test_a_dictated_phone_number_with_pauses_is_one_turn(server: tuple[str, SummaryInbox]) -> None:
    """English (Piper voice): Whisper base cannot read espeak-ng's French digits, so the French path is unit-tested."""
    url, inbox = server
    parts = ["My phone number is oh six,", "twelve, thirty four,", "fifty six, seventy eight."]
    audio = b""
    for i, part in enumerate(parts):
        audio += (pause(0.7) if i else b"") + say_mulaw(part, "en")
    result = await PhoneClient(url, language="en").call([CallerTurn(mulaw=audio)])
    summary = await asyncio.to_thread(inbox.wait, result.stream_sid, 20)
    lines = caller_lines(summary)
    assert len(lines) == 1, lines
    assert sum(ch.isdigit() for ch in lines[0]) >= 8, lines  # the whole number, in one turn
    assert result.turns[0].voice_to_voice_ms is not None


@pytest.mark.audio
@pytest.mark.parametrize("filler", ["euh", pytest.param("hum", marks=pytest.mark.xfail(
    strict=True, reason="espeak-ng's 'hum' is 0.31 s of continuous voice: above the 0.25 s barge-in threshold that "
    "keeps barge-in near 300 ms; telling it from speech needs pause-and-resume on the carrier (not built)"))])
async def test_a_filler_during_agent_speech_does_not_interrupt(server: tuple[str, SummaryInbox], filler: str) -> None:
    url, _ = server
    _, clears, after = await talk_over_greeting(url, say_mulaw(filler))
    assert clears == []
    assert after > 0  # the greeting went on



@pytest.mark.audio
async def test_talking_over_the_agent_clears_its_audio_quickly(server: tuple[str, SummaryInbox]) -> None:
    url, _ = server
    started, clears, _ = await talk_over_greeting(url, say_mulaw("Allô, excusez-moi, je vous interromps."))
    assert clears, "no clear was sent"
    latency_ms = (clears[0] - started) * 1000
    print(f"barge-in: clear {latency_ms:.0f} ms after the caller started talking")
    assert 0 < latency_ms < 1000  # 300 ms is the target; the bench reports the figure (timing is noisy here)


class _FailingTranscriber:
    def transcribe(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("decoder crashed")


@pytest.mark.audio
async def test_a_failing_decode_is_an_unrecoverable_stt_error() -> None:
    stt = SpeculativeWhisperSTT(_FailingTranscriber(), vad=load_vad(0.1))  # type: ignore[arg-type]
    errors: list[bool] = []
    stt.on("error", lambda ev: errors.append(ev.recoverable))
    stream = stt.stream()
    pcm = np.concatenate([mulaw_decode(say_mulaw("Je voudrais un rendez-vous.")), np.zeros(8000, np.int16)])
    for i in range(0, len(pcm) - 160, 160):
        stream.push_frame(rtc.AudioFrame(pcm[i : i + 160].tobytes(), MULAW_RATE, 1, 160))
    stream.end_input()
    with pytest.raises(APIConnectionError):
        async for _ in stream:
            pass
    assert errors == [False]
