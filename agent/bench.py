"""`permanence bench`: voice-to-voice latency by stage, STT real-time factor, TTS first audio, memory, concurrency."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from livekit.agents import llm, stt, tts
from livekit.agents.metrics import LLMMetrics, TTSMetrics
from websockets.asyncio.client import connect

from agent.call_command import serving
from agent.call_runner import CallOptions, CallRunner, VoiceStack
from agent.call_store import MemoryCallStore
from agent.caller_voice import say_mulaw
from agent.phone_client import CallerTurn, PhoneCallResult, PhoneClient, PhoneLine, TurnTiming
from agent.plugins.speculative_stt import DecodeRecord, SpeculativeWhisperSTT
from agent.triage_guard import Triage, TriageOutcome
from agent.voice_stack import StackConfig, build_voice_stack

UTTERANCES_FR = (
    "Bonjour, je voudrais prendre rendez-vous avec le docteur Martin.",
    "Je voudrais annuler mon rendez-vous de demain matin.",
    "Est-ce que le cabinet est ouvert samedi ?",
    "Je voudrais renouveler mon ordonnance.",
    "Pouvez-vous me rappeler cet après-midi ?",
    "J'ai besoin d'un certificat médical pour le sport.",
    "Je serai en retard de dix minutes à mon rendez-vous.",
    "Quels sont vos horaires d'ouverture le mercredi ?",
)
LEVELS = (1, 2, 4, 6, 8)


@dataclass(frozen=True)
class BenchConfig:
    """What to run: utterances per call, concurrency levels, and the stack under test."""

    utterances: int = 6
    calls: tuple[int, ...] = LEVELS
    stack: StackConfig | None = None
    seed: int = 7
    stagger_s: float = 2.0
    barge_in_tries: int = 4


def quick_config(stack: StackConfig | None = None) -> BenchConfig:
    """A short run (about a minute): 3 utterances, 1 and 2 calls."""
    return BenchConfig(utterances=3, calls=(1, 2), stack=stack, barge_in_tries=2)


# --- instrumentation ----------------------------------------------------------------------------------------


@dataclass
class Probe:
    """Timestamps the server side records (thread-safe appends; read once the calls are over)."""

    stts: list[SpeculativeWhisperSTT] = field(default_factory=list)
    triage: list[tuple[float, float]] = field(default_factory=list)
    llm: list[LLMMetrics] = field(default_factory=list)
    tts: list[TTSMetrics] = field(default_factory=list)

    def decodes(self) -> list[DecodeRecord]:
        return [r for s in self.stts for r in s.decodes.records]


class TimedTriage:
    """The stack's triage engine, timed (its start marks the committed turn)."""

    def __init__(self, inner: Triage, probe: Probe) -> None:
        self.inner, self.probe = inner, probe

    def assess(self, text: str, *, context: Any = None) -> TriageOutcome:
        started = time.time()
        try:
            return self.inner.assess(text, context=context)
        finally:
            self.probe.triage.append((started, time.time()))


def instrument(stack: VoiceStack, probe: Probe) -> VoiceStack:
    """A copy of the stack whose per-call STT, LLM and TTS report to `probe`."""
    make_stt, make_llm, make_tts = stack.make_stt, stack.make_llm, stack.make_tts

    def timed_stt(lang: str) -> stt.STT[Any]:
        instance = make_stt(lang)
        if isinstance(instance, SpeculativeWhisperSTT):
            probe.stts.append(instance)
        return instance

    def timed_llm(lang: str) -> llm.LLM[Any]:
        instance = make_llm(lang)
        instance.on("metrics_collected", lambda m: probe.llm.append(m) if isinstance(m, LLMMetrics) else None)
        return instance

    def timed_tts(lang: str) -> tts.TTS[Any]:
        instance = make_tts(lang)
        instance.on("metrics_collected", lambda m: probe.tts.append(m) if isinstance(m, TTSMetrics) else None)
        return instance

    return replace(stack, make_stt=timed_stt, make_llm=timed_llm, make_tts=timed_tts,
                   triage=TimedTriage(stack.triage, probe))


# --- running calls ------------------------------------------------------------------------------------------


def gateway_app(runner: CallRunner) -> FastAPI:
    """Only the console's media-stream route, with the runner as its call handler."""
    from console.gateway import router

    app = FastAPI()
    app.include_router(router)
    app.state.call_handler = runner
    return app


def caller_turns(count: int, *, offset: int = 0) -> list[CallerTurn]:
    """`count` French sentences as phone audio, starting at `offset` in the list (cycled)."""
    texts = [UTTERANCES_FR[(offset + i) % len(UTTERANCES_FR)] for i in range(count)]
    return [CallerTurn(mulaw=say_mulaw(text, "fr"), label=text) for text in texts]


async def place_calls(url: str, n: int, utterances: int, *, seed: int, stagger_s: float) -> list[PhoneCallResult]:
    """`n` simultaneous calls, each starting within `stagger_s` and speaking `utterances` sentences."""
    rng = random.Random(seed + n)

    async def one(i: int) -> PhoneCallResult:
        await asyncio.sleep(rng.uniform(0, stagger_s) if n > 1 else 0)
        turns = await asyncio.to_thread(caller_turns, utterances, offset=i)
        return await PhoneClient(url, caller=f"+3360000{i:04d}").call(turns)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def rss_mb() -> float:
    """This process's resident memory (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Peak RSS while a block runs (sampled every 50 ms in a thread)."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- barge-in ------------------------------------------------------------------------------------------------


class RecordingLine(PhoneLine):
    """A phone line that notes when the agent's audio was cleared."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clears: list[float] = []

    def _on_clear(self) -> None:
        self.clears.append(time.time())
        super()._on_clear()


async def talk_over_greeting(url: str, mulaw: bytes, *, after_s: float = 0.8, listen_s: float = 2.5
                             ) -> tuple[float, list[float], int]:
    """Speak `mulaw` once the greeting has played `after_s`; returns (speech start, clear times, media after)."""
    async with connect(url) as ws:
        line = RecordingLine(ws)
        tasks = [asyncio.create_task(line.receive_forever())]
        await line.send(line.messages.connected())
        await line.send(line.messages.start({"language": "fr"}))
        tasks.append(asyncio.create_task(line.stream_forever()))
        async with asyncio.timeout(15):
            while not line.agent_media_count:
                await asyncio.sleep(0.01)
        await asyncio.sleep(after_s)
        started = time.time() + 0.02  # the first speech frame leaves on the next 20 ms tick
        await line.speak(mulaw)
        count = line.agent_media_count
        await asyncio.sleep(listen_s)
        after = line.agent_media_count - count
        await line.send(line.messages.stop())
        for task in tasks:
            task.cancel()
    return started, line.clears, after


async def barge_in_latencies(url: str, tries: int) -> list[float]:
    """Seconds from the caller starting to talk over the greeting to the `clear` (missing when none came)."""
    sentences = ("Allô, excusez-moi, je vous interromps.", "Non attendez, ce n'est pas ça.")
    found = []
    for i in range(tries):
        mulaw = await asyncio.to_thread(say_mulaw, sentences[i % len(sentences)], "fr")
        started, clears, _ = await talk_over_greeting(url, mulaw, listen_s=1.5)
        if clears:
            found.append(clears[0] - started)
    return found


# --- figures ------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in [0, 100]); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95 in milliseconds, rounded."""
    p50, p95 = percentile(values, 50), percentile(values, 95)
    return {"p50_ms": None if p50 is None else round(p50 * 1000), "p95_ms": None if p95 is None else round(p95 * 1000),
            "n": len(values)}


def spoken_turns(results: Sequence[PhoneCallResult]) -> list[TurnTiming]:
    return [t for r in results for t in r.turns if t.speech_end and t.first_agent_audio]


def _in(at: float, start: float, end: float) -> bool:
    return start <= at <= end


def turn_stages(turn: TurnTiming, probe: Probe) -> dict[str, float] | None:
    """One turn's stages (seconds) from server timestamps that fall between its end of speech and its reply."""
    assert turn.first_agent_audio is not None
    end, reply = turn.speech_end, turn.first_agent_audio
    sent = [r for r in probe.decodes() if r.outcome == "sent" and _in(r.finished, end - 1.0, reply)]
    triage = [t for t in probe.triage if _in(t[0], end, reply)]
    if not sent or not triage:
        return None
    llm_m = [m for m in probe.llm if _in(m.timestamp - m.duration, triage[-1][1] - 0.01, reply)]
    tts_m = [m for m in probe.tts if _in(m.timestamp - m.duration, end, reply + 10)]
    committed = triage[-1][0]
    stages = {
        "endpointing": committed - end,
        "stt_after_speech": max(0.0, sent[-1].finished - end),
        "stt_decode": sent[-1].decode_s,
        "triage_dialog": (triage[-1][1] - committed) + (llm_m[0].ttft if llm_m else 0.0),
        "tts_first_chunk": tts_m[0].ttfb if tts_m else 0.0,
        "voice_to_voice": reply - end,
    }
    return stages


def stage_table(turns: Sequence[TurnTiming], probe: Probe) -> dict[str, dict[str, float | None]]:
    rows = [s for t in turns if (s := turn_stages(t, probe)) is not None]
    keys = ("voice_to_voice", "endpointing", "stt_after_speech", "stt_decode", "triage_dialog", "tts_first_chunk")
    return {k: spread([r[k] for r in rows]) for k in keys}


def stt_rtf(records: Sequence[DecodeRecord]) -> float | None:
    """Median decode time over audio duration of the decodes that finished."""
    ratios = [r.decode_s / r.audio_s for r in records if r.audio_s > 0 and r.decode_s > 0]
    return round(statistics.median(ratios), 3) if ratios else None


def speculation(records: Sequence[DecodeRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    return counts


def tts_first_audio(probe: Probe) -> dict[str, float | None]:
    return spread([m.ttfb for m in probe.tts if m.ttfb > 0])


def sustained(levels: Sequence[dict[str, Any]], bound_ms: int) -> int:
    """The largest number of calls whose p95 voice-to-voice stayed within `bound_ms` (0 if none)."""
    ok = [lv["calls"] for lv in levels if lv["p95_ms"] is not None and lv["p95_ms"] <= bound_ms]
    return max(ok, default=0)


# --- the run ------------------------------------------------------------------------------------------------


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def run_voice_bench(config: BenchConfig, *, data_dir: Path, log: Callable[[str], None] | None = None
                    ) -> dict[str, Any]:
    """Run the benchmark; returns the figures `format_voice_table` prints.

    French caller sentences are synthesised with espeak-ng and sent as 8 kHz μ-law in real time over the
    real media-stream WebSocket (the console's gateway route, served in-process) to the real pipeline.
    Voice-to-voice is measured by the simulated phone line: from the last frame of caller speech it sent to
    the first byte of agent audio it received. Stages come from server timestamps: the triage guard's start
    (the committed turn), the speculative STT's decode records, livekit's LLM TTFT and TTS TTFB metrics.
    """
    say = log or (lambda _: None)
    stack_config = config.stack or StackConfig(data_dir=data_dir)
    probe = Probe()
    base_rss = rss_mb()
    stack = instrument(build_voice_stack(stack_config), probe)
    runner = CallRunner(stack=stack, store=MemoryCallStore(), options=CallOptions())
    levels: list[dict[str, Any]] = []
    serial: dict[str, Any] = {}
    load_before = load_average()
    with serving(gateway_app(runner)) as base:
        url = f"{base}/media-stream"
        for n in config.calls:
            say(f"running {n} simultaneous call(s) × {config.utterances} utterances …")
            mark = len(probe.decodes())
            with RssSampler() as rss:
                results = asyncio.run(place_calls(url, n, config.utterances, seed=config.seed,
                                                  stagger_s=config.stagger_s))
            turns = spoken_turns(results)
            figures = spread([t.first_agent_audio - t.speech_end for t in turns if t.first_agent_audio])
            levels.append({"calls": n, **figures, "peak_rss_mb": round(rss.peak),
                           "load_1m": round(load_average()[0], 2),
                           "missed_turns": sum(len(r.turns) for r in results) - len(turns)})
            if n == 1:
                serial = {"stages": stage_table(turns, probe), "speculation": speculation(probe.decodes()[mark:])}
        say("talking over the agent (barge-in) …")
        serial["barge_in"] = spread(asyncio.run(barge_in_latencies(url, config.barge_in_tries)))
    return summarise(config, stack_config, probe, levels, serial, base_rss=base_rss, load_before=load_before)


def summarise(config: BenchConfig, stack_config: StackConfig, probe: Probe, levels: list[dict[str, Any]],
              serial: dict[str, Any], *, base_rss: float, load_before: tuple[float, float, float]) -> dict[str, Any]:
    one = next((lv for lv in levels if lv["calls"] == 1), None)
    top = max(levels, key=lambda lv: lv["calls"]) if levels else None
    per_call = None
    if one and top and top["calls"] > 1:
        per_call = round((top["peak_rss_mb"] - one["peak_rss_mb"]) / (top["calls"] - 1), 1)
    return {
        "utterances_per_call": config.utterances,
        "barge_in_tries": config.barge_in_tries,
        "turn_detector": stack_config.turn_detector,
        "speculative_stt": stack_config.speculative,
        "timing": vars(stack_config.timing),
        "stages": serial.get("stages", {}),
        "speculation": serial.get("speculation", {}),
        "barge_in": serial.get("barge_in", {}),
        "stt_real_time_factor": stt_rtf([r for r in probe.decodes() if r.outcome != "running"]),
        "tts_first_audio": tts_first_audio(probe),
        "memory": {"process_before_models_mb": round(base_rss), "one_call_peak_mb": one["peak_rss_mb"] if one else None,
                   "per_extra_call_mb": per_call},
        "concurrency": levels,
        "sustained_calls_p95_2s": sustained(levels, 2000),
        "sustained_calls_p95_1_5s": sustained(levels, 1500),
        "load_average_before": [round(x, 2) for x in load_before],
        "cpu_count": os.cpu_count(),
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_voice_table(result: dict[str, Any]) -> str:
    """The figures as a person reads them."""
    lines = [f"Voice pipeline, {result['utterances_per_call']} French utterances per call, real time "
             f"(turn detector: {result['turn_detector']}, speculative STT: {result['speculative_stt']})", "",
             f"{'stage (1 call)':<34}{'p50 ms':>8}{'p95 ms':>8}{'n':>4}"]
    labels = {"voice_to_voice": "voice-to-voice", "endpointing": "endpointing wait (end → commit)",
              "stt_after_speech": "STT ready after end of speech", "stt_decode": "STT decode (overlapped)",
              "triage_dialog": "triage + dialog", "tts_first_chunk": "TTS first chunk"}
    for key, label in labels.items():
        row = result["stages"].get(key, {})
        lines.append(f"{label:<34}{_ms(row.get('p50_ms')):>8}{_ms(row.get('p95_ms')):>8}{row.get('n', 0):>4}")
    tts_row, barge = result["tts_first_audio"], result["barge_in"] or {"p50_ms": None, "p95_ms": None, "n": 0}
    memory = result["memory"]
    lines += ["", f"STT real-time factor (median): {result['stt_real_time_factor']}",
              f"TTS time to first audio: p50 {_ms(tts_row['p50_ms'])} ms, p95 {_ms(tts_row['p95_ms'])} ms",
              f"Speculative decodes (1 call): {result['speculation']}",
              f"Barge-in (caller starts talking → clear sent): p50 {_ms(barge['p50_ms'])} ms, "
              f"p95 {_ms(barge['p95_ms'])} ms, {barge['n']} of {result['barge_in_tries']}",
              f"Memory: one call peak {memory['one_call_peak_mb']} MiB, "
              f"per extra call {memory['per_extra_call_mb']} MiB",
              "", f"{'calls':>5}{'p50 ms':>8}{'p95 ms':>8}{'turns':>6}{'missed':>7}{'RSS MiB':>9}{'load':>6}"]
    for lv in result["concurrency"]:
        lines.append(f"{lv['calls']:>5}{_ms(lv['p50_ms']):>8}{_ms(lv['p95_ms']):>8}{lv['n']:>6}{lv['missed_turns']:>7}"
                     f"{lv['peak_rss_mb']:>9}{lv['load_1m']:>6}")
    lines += ["", f"Calls sustained with p95 ≤ 2 s: {result['sustained_calls_p95_2s']}; "
              f"≤ 1.5 s: {result['sustained_calls_p95_1_5s']}",
              f"Load average before: {result['load_average_before']} on {result['cpu_count']} CPUs"]
    return "\n".join(lines)
