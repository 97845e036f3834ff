"""What-if replay for the manager: a draft against the active thresholds, on recorded calls and the eval set.

Fast on large periods: rows are streamed (one query, no per-row round trip), every distinct utterance is
assessed once per configuration, outcomes are cached per configuration, and large batches are spread over
worker processes (the engine is pure Python and CPU-bound).
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import groupby
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from console.manager.common import Period
from escalation.replay import ChangedOutcome, ConfigFigures
from escalation.thresholds import Thresholds
from escalation.triage import CallContext, TriageDecision, TriageEngine
from escalation.triage.models import LEVELS, level_rank
from practice.models import Call, CallReview, Ticket, Turn
from prompts import TRIAGE_EVAL_SET

# The level a human's disposition of the ticket establishes (the reference label of the call's turns, unless a
# manager reviewed the call: the level retained after reading it comes first).
LABEL_BY_DISPOSITION = {"advised_15": "emergency", "redirected_on_call": "urgent"}
EVAL_SET_PATH = TRIAGE_EVAL_SET
# Actions from the least to the most escalating (a call's outcome is its most escalating turn at equal level).
ACTION_RANK = {"self_service": 0, "callback": 1, "handoff": 2, "advise_15": 3}
CHANGED_SHOWN = 300
PARALLEL_MIN_TEXTS = 1500
CHUNK = 400
CACHE_SIZE = 200_000
STREAM_BATCH = 5000


class Outcome(NamedTuple):
    """What one configuration does with one utterance."""

    level: str
    action: str
    rule: str


@dataclass(frozen=True)
class Sample:
    """One utterance to replay: a recorded caller turn (call id, seq) or an evaluation line."""

    key: str
    text: str
    label: str | None
    call_id: str | None = None
    seq: int | None = None
    reviewed: bool = False


@dataclass
class Section:
    """Side-by-side figures of one replayed set (counted per `unit`: call or utterance), and what would change."""

    unit: str = "utterance"
    active: ConfigFigures = field(default_factory=ConfigFigures)
    draft: ConfigFigures = field(default_factory=ConfigFigures)
    calls: set[str] = field(default_factory=set)
    changed: list[dict[str, Any]] = field(default_factory=list)
    changed_total: int = 0
    changed_calls: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "active": self.active.to_dict(), "draft": self.draft.to_dict(),
                "calls": len(self.calls),
                "changed_total": self.changed_total, "changed_calls": len(self.changed_calls),
                "changed": self.changed}


# --- the utterances -------------------------------------------------------------------------------------


def recorded_query(practice_ids: Sequence[int], span: Period) -> Any:
    """Caller turns of the practices' calls started in the period, with the ticket's disposition and the review."""
    return (
        sa.select(col(Turn.call_id), col(Turn.seq), col(Turn.text), col(Ticket.disposition), col(CallReview.level))
        .join(Call, col(Call.id) == col(Turn.call_id))
        .outerjoin(Ticket, col(Ticket.id) == col(Turn.call_id))
        .outerjoin(CallReview, col(CallReview.call_id) == col(Turn.call_id))
        .where(col(Call.practice_id).in_(list(practice_ids)),
               col(Call.started_at) >= span.start_utc, col(Call.started_at) < span.end_utc,
               col(Turn.speaker) == "caller", col(Turn.text) != "")
        .order_by(col(Call.started_at), col(Turn.call_id), col(Turn.seq))
    )


def recorded_samples(engine: Engine, practice_ids: Sequence[int], span: Period) -> Iterator[Sample]:
    """Stream the recorded caller turns (server-side cursor on PostgreSQL, batches on SQLite)."""
    if not practice_ids:
        return
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
            recorded_query(practice_ids, span))
        for call_id, seq, text, disposition, reviewed in result:
            yield Sample(f"{call_id}:{seq}", text, reference_label(disposition, reviewed), call_id, seq,
                         reviewed=reviewed in LEVELS)


def reference_label(disposition: str | None, reviewed_level: str | None) -> str | None:
    """The level a manager retained after reading the call, else the one the secretary's disposition implies."""
    if reviewed_level in LEVELS:
        return reviewed_level
    return LABEL_BY_DISPOSITION.get(disposition or "")


def eval_samples(path: Path = EVAL_SET_PATH) -> list[Sample]:
    """The protocol's labelled evaluation set (empty when it is not installed with the console)."""
    if not path.is_file():
        return []
    samples: list[Sample] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                row = json.loads(line)
                label = row.get("level") if row.get("level") in ("emergency", "urgent", "routine") else None
                samples.append(Sample(str(row.get("id", number)), str(row["text"]), label))
    return samples


# --- assessing, cached and in parallel -------------------------------------------------------------------


def config_key(thresholds: Thresholds) -> str:
    return thresholds.model_dump_json()


class Assessor:
    """Outcomes of utterances under threshold configurations, each distinct (configuration, text) once."""

    def __init__(self, *, workers: int | None = None, cache_size: int = CACHE_SIZE,
                 parallel_min: int = PARALLEL_MIN_TEXTS) -> None:
        self.workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        self.parallel_min = parallel_min
        self._cache: OrderedDict[tuple[str, str], Outcome] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def outcomes(self, configs: Sequence[Thresholds], texts: Iterable[str]) -> list[dict[str, Outcome]]:
        """For each configuration, the outcome of every text (text → outcome)."""
        distinct = list(dict.fromkeys(texts))
        keys = [config_key(c) for c in configs]
        found: list[dict[str, Outcome]] = [self._cached(k, distinct) for k in keys]
        missing = [(k, [t for t in distinct if t not in f]) for k, f in zip(keys, found, strict=True)]
        total = sum(len(m) for _, m in missing)
        computed = self._parallel(missing) if total >= self.parallel_min and self.workers > 1 else \
            [_assess_chunk(k, m) for k, m in missing]
        for (key, texts_missing), outs, into in zip(missing, computed, found, strict=True):
            into.update(zip(texts_missing, outs, strict=True))
            self._store(key, texts_missing, outs)
        return found

    def _cached(self, key: str, texts: list[str]) -> dict[str, Outcome]:
        with self._lock:
            return {t: self._cache[(key, t)] for t in texts if (key, t) in self._cache}

    def _store(self, key: str, texts: list[str], outs: list[Outcome]) -> None:
        with self._lock:
            for text, out in zip(texts, outs, strict=True):
                self._cache[(key, text)] = out
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _parallel(self, work: list[tuple[str, list[str]]]) -> list[list[Outcome]]:
        """Chunks of every configuration over the worker processes (kept for the next replay)."""
        pool = self._workers_pool()
        try:
            futures = [[pool.submit(_assess_chunk, key, texts[i:i + CHUNK]) for i in range(0, len(texts), CHUNK)]
                       for key, texts in work]
            return [[out for f in chunks for out in f.result()] for chunks in futures]
        except BrokenProcessPool:  # a worker died (killed, out of memory): answer inline, start afresh next time
            self.close()
            return [_assess_chunk(key, texts) for key, texts in work]

    def _workers_pool(self) -> ProcessPoolExecutor:
        """Spawned, not forked: safe from a threaded server; they load the protocol once each."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
            return self._pool

    def close(self, *, wait: bool = False) -> None:
        """Stop the worker processes (a later replay starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)


_ENGINES: dict[str, TriageEngine] = {}


def _engine_for(key: str) -> TriageEngine:
    engine = _ENGINES.get(key)
    if engine is None:
        engine = TriageEngine.default().with_thresholds(Thresholds.model_validate_json(key))
        _ENGINES.clear()  # two or three live configurations at most; drop older ones
        _ENGINES[key] = engine
    return engine


def _assess_chunk(key: str, texts: list[str]) -> list[Outcome]:
    engine = _engine_for(key)
    return [_outcome(engine.assess(text)) for text in texts]


def _outcome(decision: TriageDecision) -> Outcome:
    return Outcome(decision.level, decision.action, decision.rules[0].id if decision.rules else "")


# --- the replay -----------------------------------------------------------------------------------------


def _decision(outcome: Outcome) -> TriageDecision:
    """A decision carrying only what the shared figures read (level and action)."""
    return TriageDecision(level=outcome.level, action=outcome.action, intent="other",  # type: ignore[arg-type]
                          rules=[], clinical_question=False, findings={}, context=CallContext())


def compare(samples: Sequence[Sample], active: Thresholds, draft: Thresholds, assessor: Assessor, *,
            by_call: bool = False) -> Section:
    """Figures of both configurations and the changed outcomes: per utterance, or per call (`by_call`: a call
    is handled as its most serious turn, the way the agent escalates at the first alarming sentence)."""
    before, after = assessor.outcomes([active, draft], (s.text for s in samples))
    section = Section(unit="call" if by_call else "utterance")
    if by_call:
        for _call_id, turns in groupby(samples, key=lambda s: s.call_id):
            _add_call(section, list(turns), before, after)
        return section
    for sample in samples:
        old, new = before[sample.text], after[sample.text]
        section.active.add(_decision(old), sample.label)
        section.draft.add(_decision(new), sample.label)
        if (old.level, old.action) != (new.level, new.action):
            _changed(section, sample, old, new)
    return section


def call_outcome(outcomes: Sequence[Outcome]) -> Outcome:
    """What a call's turns add up to: the most serious level, then the most escalating action (first on a tie)."""
    return max(outcomes, key=lambda o: (level_rank(o.level), ACTION_RANK.get(o.action, len(ACTION_RANK))))


def _add_call(section: Section, turns: list[Sample], before: dict[str, Outcome], after: dict[str, Outcome]) -> None:
    old = call_outcome([before[t.text] for t in turns])
    new = call_outcome([after[t.text] for t in turns])
    label = turns[0].label
    section.active.add(_decision(old), label)
    section.draft.add(_decision(new), label)
    section.calls.add(str(turns[0].call_id))
    if (old.level, old.action) != (new.level, new.action):
        decisive = next((t for t in turns if before[t.text][:2] != after[t.text][:2]), turns[0])
        _changed(section, decisive, old, new)


def _changed(section: Section, sample: Sample, old: Outcome, new: Outcome) -> None:
    section.changed_total += 1
    if sample.call_id:
        section.changed_calls.add(sample.call_id)
    if len(section.changed) < CHANGED_SHOWN:
        shared = ChangedOutcome(sample.key, {"level": old.level, "action": old.action},
                                {"level": new.level, "action": new.action})
        section.changed.append({**shared.__dict__, "call_id": sample.call_id, "seq": sample.seq,
                                "text": sample.text, "label": sample.label, "reviewed": sample.reviewed,
                                "rule_active": old.rule, "rule_draft": new.rule})


def whatif(engine: Engine, *, practice_ids: Sequence[int], span: Period, active: Thresholds, draft: Thresholds,
           assessor: Assessor, eval_path: Path | None = EVAL_SET_PATH) -> dict[str, Any]:
    """The draft against the active version on the period's recorded calls and on the evaluation set."""
    recorded = compare(list(recorded_samples(engine, practice_ids, span)), active, draft, assessor, by_call=True)
    evaluation = compare(eval_samples(eval_path), active, draft, assessor) if eval_path else Section()
    return {"period": {"from": span.first.isoformat(), "to": span.last.isoformat()},
            "recorded": recorded.to_dict(), "evaluation": evaluation.to_dict(),
            "evaluation_available": bool(evaluation.active.total)}
