"""Unit tests of the media-stream protocol, its audio I/O, the triage guard and the call state."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from agent.audio import mulaw_decode, mulaw_encode
from agent.call_state import CallState
from agent.call_store import MemoryCallStore
from agent.transports.media_stream import (
    FRAME_BYTES,
    Audio,
    CarrierMessages,
    Close,
    CloseCode,
    Deliver,
    DtmfEvent,
    FloodGuard,
    Ignore,
    InboundStream,
    MarkEvent,
    OutboundClear,
    OutboundMark,
    OutboundMedia,
    StartEvent,
    StopEvent,
    StreamLimits,
    clear_message,
    decode_message,
    mark_message,
    media_message,
    parse_outbound,
    split_frames,
)
from agent.transports.media_stream_io import MediaStreamAudioInput, MediaStreamAudioOutput
from agent.triage_guard import GuardResult, guard_turn

pytestmark = pytest.mark.unit

SID = "MZ0123456789abcdef"


def started(limits: StreamLimits | None = None, clock: Any = None) -> tuple[InboundStream, CarrierMessages]:
    stream = InboundStream(limits, clock) if clock else InboundStream(limits)
    carrier = CarrierMessages(SID)
    assert isinstance(stream.feed(carrier.connected()), Deliver)
    assert isinstance(stream.feed(carrier.start({"caller": "+33600000000"})), Deliver)
    return stream, carrier


def media(payload: str, sequence: int = 5, sid: str = SID, track: str = "inbound") -> str:
    return json.dumps({"event": "media", "sequenceNumber": str(sequence), "streamSid": sid,
                       "media": {"track": track, "chunk": "1", "timestamp": "0", "payload": payload}})


# --- parsing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\x00\x01binary", CloseCode.UNSUPPORTED_DATA),
        ("{not json", CloseCode.INVALID_DATA),
        ("[1, 2, 3]", CloseCode.INVALID_DATA),
        ('{"no_event": true}', CloseCode.INVALID_DATA),
        ('{"event": 42}', CloseCode.INVALID_DATA),
        ("x" * 70_000, CloseCode.TOO_BIG),
        ('{"event": "start", "start": {}}', CloseCode.INVALID_DATA),
        ("[" * 100_000, CloseCode.TOO_BIG),
    ],
)
def test_garbage_closes_the_stream_with_a_reason(raw: str | bytes, code: CloseCode) -> None:
    verdict = decode_message(raw, StreamLimits())
    assert isinstance(verdict, Close) and verdict.code == code and verdict.reason


def test_deeply_nested_json_is_refused_not_crashing() -> None:
    verdict = decode_message("[" * 20_000 + "]" * 20_000, StreamLimits())
    assert isinstance(verdict, Close)


def test_unknown_events_are_ignored_and_counted() -> None:
    stream, _ = started()
    verdict = stream.feed('{"event": "hologram", "streamSid": "MZ0123456789abcdef"}')
    assert verdict == Ignore("unknown_event")
    assert stream.stats.ignored == {"unknown_event": 1}


def test_twilio_start_event_is_parsed() -> None:
    stream, _ = started()
    assert stream.start is not None
    assert stream.stream_sid == SID
    assert stream.start.start.custom_parameters == {"caller": "+33600000000"}
    assert stream.start.start.media_format.sample_rate == 8000


def test_real_twilio_payload_shapes_are_accepted() -> None:
    raw_start = {
        "event": "start", "sequenceNumber": "1", "streamSid": "MZ18ad3ab5a668481ce02b83e7395059f0",
        "start": {"accountSid": "AC123", "streamSid": "MZ18ad3ab5a668481ce02b83e7395059f0", "callSid": "CA123",
                  "tracks": ["inbound"], "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                                         "channels": 1},
                  "customParameters": {"FirstName": "Jane"}},
    }
    event = decode_message(json.dumps(raw_start), StreamLimits())
    assert isinstance(event, StartEvent) and event.start.call_sid == "CA123"
    dtmf = decode_message('{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5",'
                          '"dtmf":{"track":"inbound_track","digit":"1"}}', StreamLimits())
    assert isinstance(dtmf, DtmfEvent) and dtmf.dtmf.digit == "1"
    mark = decode_message('{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"x"}}',
                          StreamLimits())
    assert isinstance(mark, MarkEvent) and mark.mark.name == "x"
    stop = decode_message('{"event":"stop","sequenceNumber":"5","streamSid":"MZ1",'
                          '"stop":{"accountSid":"AC1","callSid":"CA1"}}', StreamLimits())
    assert isinstance(stop, StopEvent)


def test_unsupported_media_format_is_refused() -> None:
    stream = InboundStream()
    start = json.loads(CarrierMessages(SID).start())
    start["start"]["mediaFormat"] = {"encoding": "audio/l16", "sampleRate": 16000, "channels": 1}
    verdict = stream.feed(json.dumps(start))
    assert isinstance(verdict, Close) and verdict.code == CloseCode.UNSUPPORTED_DATA


def test_oversized_custom_parameters_are_refused() -> None:
    start = json.loads(CarrierMessages(SID).start({f"k{i}": "v" for i in range(100)}))
    verdict = InboundStream().feed(json.dumps(start))
    assert isinstance(verdict, Close) and verdict.reason == "invalid start event"


# --- media frames -----------------------------------------------------------------------------------------


def test_media_before_start_is_ignored() -> None:
    stream = InboundStream()
    assert stream.feed(CarrierMessages(SID).media(b"\xff" * FRAME_BYTES)) == Ignore("media_before_start")


def test_valid_media_is_decoded() -> None:
    stream, carrier = started()
    verdict = stream.feed(carrier.media(b"\x01\x02" * 80))
    assert isinstance(verdict, Audio) and verdict.mulaw == b"\x01\x02" * 80
    assert stream.stats.media_frames == 1 and stream.stats.audio_bytes == 160


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("!!!not-base64!!!", "invalid_base64"),
        ("QUJD=extra", "invalid_base64"),
        ("", "payload_size"),
        (base64.b64encode(b"\xff" * 9000).decode(), "payload_size"),
    ],
)
def test_bad_payloads_are_ignored_and_counted(payload: str, reason: str) -> None:
    stream, _ = started()
    assert stream.feed(media(payload)) == Ignore(reason)
    assert stream.stats.ignored[reason] == 1


def test_media_without_payload_is_ignored() -> None:
    stream, _ = started()
    raw = json.dumps({"event": "media", "streamSid": SID, "media": {"track": "inbound"}})
    assert stream.feed(raw) == Ignore("invalid_media")


def test_out_of_order_and_duplicate_frames_are_dropped() -> None:
    stream, _ = started()
    frame = base64.b64encode(b"\xff" * 160).decode()
    assert isinstance(stream.feed(media(frame, sequence=10)), Audio)
    assert stream.feed(media(frame, sequence=10)) == Ignore("out_of_order")
    assert stream.feed(media(frame, sequence=3)) == Ignore("out_of_order")
    assert isinstance(stream.feed(media(frame, sequence=11)), Audio)


def test_frames_of_another_stream_or_track_are_ignored() -> None:
    stream, _ = started()
    frame = base64.b64encode(b"\xff" * 160).decode()
    assert stream.feed(media(frame, sid="MZother")) == Ignore("wrong_stream")
    assert stream.feed(media(frame, sequence=6, track="outbound")) == Ignore("outbound_track", bad=False)


def test_many_invalid_messages_close_the_stream() -> None:
    stream, _ = started(StreamLimits(max_bad_messages=5))
    verdicts = [stream.feed(media("@@@", sequence=10 + i)) for i in range(7)]
    assert all(isinstance(v, Ignore) for v in verdicts[:5])
    assert verdicts[5] == Close(CloseCode.POLICY_VIOLATION, "too many invalid messages")


def test_a_flood_of_frames_is_dropped_then_closed() -> None:
    now = [0.0]
    limits = StreamLimits(max_speed=2.0, burst_s=1.0, max_dropped_s=0.5)
    stream, carrier = started(limits, clock=lambda: now[0])
    verdicts = [stream.feed(carrier.media(b"\xff" * 160)) for _ in range(200)]  # 4 s of audio at t=0
    accepted = [v for v in verdicts if isinstance(v, Audio)]
    assert len(accepted) == 50  # the 1 s burst
    assert Ignore("flood", bad=False) in verdicts
    assert verdicts[-1] == Close(CloseCode.POLICY_VIOLATION, "media flood")
    assert stream.stats.dropped_frames >= 25


def test_flood_guard_refills_with_time() -> None:
    now = [0.0]
    guard = FloodGuard(StreamLimits(max_speed=2.0, burst_s=1.0), clock=lambda: now[0])
    assert guard.admit(1.0) and not guard.admit(0.02)
    now[0] = 0.5  # half a second later, one more second of audio may pass at 2× real time
    assert guard.admit(1.0)


def test_control_events_are_delivered_and_counted() -> None:
    stream, carrier = started()
    assert isinstance(stream.feed(carrier.dtmf("5")), Deliver)
    assert isinstance(stream.feed(carrier.mark("seg-1")), Deliver)
    assert stream.stats.dtmf == 1 and stream.stats.marks == 1
    bad_digit = json.loads(carrier.dtmf("5"))
    bad_digit["dtmf"]["digit"] = "55"
    assert stream.feed(json.dumps(bad_digit)) == Ignore("invalid_dtmf")
    verdict = stream.feed(carrier.stop())
    assert isinstance(verdict, Deliver) and isinstance(verdict.event, StopEvent)
    assert stream.feed(carrier.media(b"\xff" * 160)) == Ignore("after_stop", bad=False)


def test_duplicate_start_is_ignored() -> None:
    stream, carrier = started()
    assert stream.feed(carrier.start()) == Ignore("duplicate_start")


# --- outbound messages ------------------------------------------------------------------------------------


def test_outbound_events_round_trip() -> None:
    out = parse_outbound(media_message(SID, b"\x00\x7f\xff"))
    assert isinstance(out, OutboundMedia) and base64.b64decode(out.media.payload) == b"\x00\x7f\xff"
    assert out.stream_sid == SID
    mark = parse_outbound(mark_message(SID, "seg-3"))
    assert isinstance(mark, OutboundMark) and mark.mark.name == "seg-3"
    assert isinstance(parse_outbound(clear_message(SID)), OutboundClear)
    assert json.loads(clear_message(SID)) == {"event": "clear", "streamSid": SID}
    assert parse_outbound("garbage") is None


def test_frames_are_split_at_twenty_ms() -> None:
    frames = split_frames(b"\x00" * 500)
    assert [len(f) for f in frames] == [160, 160, 160, 20]


# --- audio input --------------------------------------------------------------------------------------------


async def test_input_frames_are_twenty_ms_of_pcm16() -> None:
    audio_in = MediaStreamAudioInput()
    tone = (np.sin(np.arange(800) / 8000 * 2 * np.pi * 440) * 8000).astype(np.int16)
    mulaw = mulaw_encode(tone)
    for chunk in (mulaw[:100], mulaw[100:470], mulaw[470:]):  # sizes not aligned on 20 ms
        await audio_in.push(chunk)
    audio_in.end()
    frames = [frame async for frame in audio_in]
    assert [f.samples_per_channel for f in frames] == [160] * 5
    assert all(f.sample_rate == 8000 and f.num_channels == 1 for f in frames)
    decoded = np.concatenate([np.frombuffer(bytes(f.data), np.int16) for f in frames])
    assert np.array_equal(decoded, mulaw_decode(mulaw))


async def test_input_can_be_resampled_to_16k() -> None:
    audio_in = MediaStreamAudioInput(sample_rate=16000)
    await audio_in.push(b"\xff" * 1600)
    audio_in.end()
    frames = [frame async for frame in audio_in]
    assert frames and all(f.sample_rate == 16000 for f in frames)


async def test_full_input_queue_drops_and_counts() -> None:
    audio_in = MediaStreamAudioInput(queue_frames=2, enqueue_timeout_s=0.01)
    dropped = await audio_in.push(b"\xff" * 160 * 5)
    assert dropped == 3 and audio_in.dropped_frames == 3
    audio_in.end()
    assert len([f async for f in audio_in]) >= 1


# --- audio output -------------------------------------------------------------------------------------------


@dataclass
class Wire:
    sent: list[str] = field(default_factory=list)
    fail: bool = False

    async def send(self, text: str) -> None:
        if self.fail:
            raise ConnectionError("gone")
        self.sent.append(text)

    def events(self) -> list[Any]:
        return [parse_outbound(m) for m in self.sent]


def tts_frame(ms: int = 100, rate: int = 16000) -> rtc.AudioFrame:
    n = rate * ms // 1000
    pcm = (np.sin(np.arange(n) / rate * 2 * np.pi * 300) * 6000).astype(np.int16)
    return rtc.AudioFrame(pcm.tobytes(), rate, 1, n)


def finished_events(output: MediaStreamAudioOutput) -> list[Any]:
    seen: list[Any] = []
    output.on("playback_finished", seen.append)
    return seen


async def test_output_sends_paced_mulaw_media_then_a_mark_and_finishes_on_ack() -> None:
    wire = Wire()
    output = MediaStreamAudioOutput(wire.send, SID, max_lead_s=None)
    finished = finished_events(output)
    started_at: list[Any] = []
    output.on("playback_started", started_at.append)
    await output.capture_frame(tts_frame(100, 16000))
    await output.capture_frame(tts_frame(50, 8000))
    output.flush()
    await asyncio.sleep(0.01)
    events = wire.events()
    media = [e for e in events if isinstance(e, OutboundMedia)]
    assert sum(len(base64.b64decode(e.media.payload)) for e in media) == 1200  # 150 ms at 8 kHz
    assert all(len(base64.b64decode(e.media.payload)) == 160 for e in media[:-1])
    assert isinstance(events[-1], OutboundMark) and started_at
    assert not finished
    output.on_mark(events[-1].mark.name)
    assert len(finished) == 1 and not finished[0].interrupted
    assert finished[0].playback_position == pytest.approx(0.15, abs=0.01)
    await output.aclose()


async def test_output_reports_playback_on_timing_without_ack() -> None:
    wire = Wire()
    output = MediaStreamAudioOutput(wire.send, SID, max_lead_s=None, ack_grace_s=0.05)
    finished = finished_events(output)
    await output.capture_frame(tts_frame(40))
    output.flush()
    await asyncio.wait_for(output.wait_for_playout(), timeout=2)
    assert len(finished) == 1 and not finished[0].interrupted
    await output.aclose()


async def test_clear_buffer_sends_clear_and_reports_interruption() -> None:
    wire = Wire()
    output = MediaStreamAudioOutput(wire.send, SID, max_lead_s=None)
    finished = finished_events(output)
    await output.capture_frame(tts_frame(200))
    output.clear_buffer()
    await output.capture_frame(tts_frame(100))  # the rest of the interrupted segment is discarded
    output.flush()
    await asyncio.sleep(0.01)
    events = wire.events()
    assert isinstance(events[-1], OutboundClear)
    assert len(finished) == 1 and finished[0].interrupted
    assert finished[0].playback_position < 0.2
    await output.aclose()


async def test_output_paces_audio_ahead_of_the_playhead() -> None:
    wire = Wire()
    output = MediaStreamAudioOutput(wire.send, SID, max_lead_s=0.1, clock_speed=10.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await output.capture_frame(tts_frame(2000, 8000))  # 2 s at 10× = 0.2 s, minus the lead
    assert loop.time() - started >= 0.08
    output.flush()
    await output.aclose()


async def test_a_closed_socket_does_not_break_the_output() -> None:
    wire = Wire(fail=True)
    output = MediaStreamAudioOutput(wire.send, SID, max_lead_s=None, ack_grace_s=0.01)
    await output.capture_frame(tts_frame(60))
    output.flush()
    await asyncio.wait_for(output.wait_for_playout(), timeout=2)
    await output.capture_frame(tts_frame(60))
    output.flush()
    await output.aclose()


# --- triage guard and call state ----------------------------------------------------------------------------


@dataclass
class FakeDecision:
    level: str
    action: str
    context: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "action": self.action}


class FakeTriage:
    def __init__(self, level: str = "routine", action: str = "self_service", fail: bool = False) -> None:
        self.level, self.action, self.fail = level, action, fail
        self.seen: list[tuple[str, Any]] = []

    def assess(self, text: str, *, context: Any = None) -> FakeDecision:
        self.seen.append((text, context))
        if self.fail:
            raise RuntimeError("boom")
        return FakeDecision(self.level, self.action, context={"turns": len(self.seen)})


def test_guard_sends_an_emergency_to_15() -> None:
    result = guard_turn("texte", triage=FakeTriage("emergency", "advise_15"))
    assert result.escalate and result.stops_dialog
    assert result.say is not None and "15" in result.say
    assert result.triage == {"level": "emergency", "action": "advise_15"}


def test_guard_hands_urgent_calls_to_a_human_and_lets_routine_through() -> None:
    urgent = guard_turn("texte", triage=FakeTriage("urgent", "handoff"))
    assert urgent.escalate and urgent.say
    routine = guard_turn("je voudrais un rendez-vous", triage=FakeTriage())
    assert not routine.escalate and routine.say is None and routine.level == "routine"


def test_guard_fails_towards_a_human_and_ignores_silence() -> None:
    failed = guard_turn("texte", triage=FakeTriage(fail=True))
    assert failed.level == "urgent" and failed.escalate
    triage = FakeTriage("emergency", "advise_15")
    assert guard_turn("   ", triage=triage).say is None and not triage.seen


def test_guard_carries_the_context_of_earlier_turns() -> None:
    triage = FakeTriage()
    first = guard_turn("un", triage=triage)
    guard_turn("deux", triage=triage, context=first.context)
    assert triage.seen[1] == ("deux", {"turns": 1})


def test_guard_with_the_real_engine_on_the_french_emergency_sentence() -> None:
    from escalation.triage import TriageEngine

    result = guard_turn("mon mari a une douleur dans la poitrine qui serre très fort", triage=TriageEngine.default())
    assert result.level == "emergency" and result.say is not None and "15" in result.say
    english = guard_turn("my husband has a crushing pain in his chest", triage=TriageEngine.default(), lang="en")
    assert english.say is not None and "Hang up and call 15" in english.say


async def test_call_state_records_turns_latency_and_outcome() -> None:
    store = MemoryCallStore()
    call = await CallState.open(store=store, stream_sid=SID, practice_slug=None, caller_number="0600000000",
                                language="fr")
    call.agent_turn("Bonjour")
    call.caller_turn("j'ai mal", confidence=0.8, stopped_at=100.0,
                     guard=GuardResult("emergency", "advise_15", {"level": "emergency"}, "15", True))
    call.agent_audio_started(100.75)
    call.dtmf_digit("3")
    summary = await call.close()
    assert summary.outcome == "escalated" and summary.triage_level == "emergency"
    assert [t.speaker for t in store.turns[call.call_id]] == ["agent", "caller", "dtmf"]
    assert store.turns[call.call_id][1].voice_to_voice_ms == 750
    assert store.calls[call.call_id]["outcome"] == "escalated"


async def test_a_call_without_hang_up_is_abandoned() -> None:
    store = MemoryCallStore()
    call = await CallState.open(store=store, stream_sid=SID, practice_slug=None, caller_number="", language="fr")
    call.caller_turn("bonjour", confidence=0.9, stopped_at=None, guard=GuardResult("routine", "self_service"))
    assert (await call.close()).outcome == "abandoned"
    done = await CallState.open(store=store, stream_sid=SID, practice_slug=None, caller_number="", language="fr")
    done.caller_turn("bonjour", confidence=0.9, stopped_at=None, guard=GuardResult("routine", "self_service"))
    done.hung_up = True
    assert (await done.close()).outcome == "completed"


def test_handoff_reason_reads_like_a_secretary_would_write_it():
    from agent.triage_guard import GuardResult, handoff_reason

    result = GuardResult(level="emergency", action="advise_15", say="…",
                         triage={"rules": [{"label": "Douleur ou oppression thoracique"},
                                           {"label": "Douleur ou oppression thoracique"}, {"label": "Sueurs"}]})
    assert handoff_reason(result) == "Urgence vitale : Douleur ou oppression thoracique, Sueurs"
    assert handoff_reason(GuardResult(level="urgent", action="handoff")) == "Urgent (triage)"
