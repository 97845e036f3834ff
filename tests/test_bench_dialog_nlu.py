"""Benchmark of the dialog NLU: accuracy per method and per-utterance latency (p50/p95) of each step and of all."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from agent.dialog import entities
from agent.dialog.datetime_fr import default_parser
from agent.dialog.intents import IntentClassifier, Method, load_embedder
from agent.dialog.when import PARIS
from prompts import TRIAGE_EVAL_SET

pytestmark = pytest.mark.bench

DATA = Path(__file__).parent / "data"
REF = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)
OPTIONS = [datetime(2026, 11, 26, 10, 40), datetime(2026, 11, 27, 14, 0), datetime(2026, 11, 30, 9, 0)]
ROUNDS = 3


def _rows(name: str | Path) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _latency_ms(step: Callable[[str], object], texts: list[str]) -> tuple[float, float]:
    samples = []
    for _ in range(ROUNDS):
        for text in texts:
            start = time.perf_counter()
            step(text)
            samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = np.percentile(samples, [50, 95])
    return float(p50), float(p95)


def _whole_step(classifier: IntentClassifier) -> Callable[[str], object]:
    parser = default_parser()

    def step(text: str) -> object:
        return (
            classifier.classify(text),
            parser.when(text, REF),
            parser.birth_date(text, REF),
            entities.phone_number(text),
            entities.person_name(text),
            entities.choice(text, OPTIONS),
            entities.yes_no(text),
            entities.correction(text),
            entities.practitioner_mentions(text),
        )

    return step


def test_bench_dialog_nlu() -> None:
    start = time.perf_counter()
    classifier = IntentClassifier(load_embedder())
    print(f"\nstart-up (model load + example embeddings): {time.perf_counter() - start:.2f} s")
    own = _rows("dialog_intents.jsonl")
    held_out = [row for row in _rows(TRIAGE_EVAL_SET) if row["split"] == "holdout"]
    for method in Method:
        mine = sum(classifier.classify(r["text"], method).label == r["label"] for r in own) / len(own)
        theirs = sum(classifier.classify(r["text"], method).task == r["intent"] for r in held_out) / len(held_out)
        print(f"accuracy {method.value:<9} dialog_intents {mine:.3f} (n={len(own)})  "
              f"triage_eval holdout {theirs:.3f} (n={len(held_out)})")
    texts = [row["text"] for row in own]
    parser = default_parser()
    steps: dict[str, Callable[[str], object]] = {
        "intent (combined)": classifier.classify,
        "intent (rules)": lambda text: classifier.classify(text, Method.RULES),
        "when (duckling)": lambda text: parser.when(text, REF),
        "entities (all)": lambda text: (entities.phone_number(text), entities.person_name(text),
                                        entities.choice(text, OPTIONS), entities.yes_no(text),
                                        entities.correction(text), entities.practitioner_mentions(text)),
        "whole NLU step": _whole_step(classifier),
    }
    for name, step in steps.items():
        p50, p95 = _latency_ms(step, texts)
        print(f"latency {name:<18} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
    assert _latency_ms(_whole_step(classifier), texts)[1] < 50
