"""Evaluation of the triage engine on the labelled caller utterances of tests/data/triage_eval.jsonl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from escalation.triage import TriageEngine

pytestmark = pytest.mark.unit

EVAL_PATH = Path(__file__).parent / "data" / "triage_eval.jsonl"
MIN_ACCURACY = 0.85
MIN_ROUTINE_ACCURACY = 0.70


def load_eval() -> list[dict[str, Any]]:
    """Every labelled utterance (both splits)."""
    with EVAL_PATH.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class Predictions(list[tuple[dict[str, Any], str, str]]):
    """(row, level, intent) triples whose repr never shows the utterances (holdout text stays unread)."""

    def __repr__(self) -> str:
        return f"<{len(self)} predictions>"


@pytest.fixture(scope="module")
def predictions() -> Predictions:
    engine = TriageEngine.default()
    out = Predictions()
    for row in load_eval():
        decision = engine.assess(row["text"])
        out.append((row, decision.level, decision.intent))
    return out


def _ok(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


def _split(predictions: Predictions, split: str) -> Predictions:
    rows = Predictions(p for p in predictions if p[0]["split"] == split)
    assert rows, f"no {split} rows in {EVAL_PATH}"
    return rows


def test_eval_set_is_well_formed() -> None:
    rows = load_eval()
    assert len(rows) >= 250
    assert {r["split"] for r in rows} == {"dev", "holdout"}
    assert {r["level"] for r in rows} == {"emergency", "urgent", "routine"}
    assert len({r["id"] for r in rows}) == len(rows)


def test_no_emergency_is_triaged_as_routine(predictions: Predictions) -> None:
    # Only ids in the message: the holdout's text must not reach whoever tunes the rules.
    missed = [row["id"] for row, level, _ in predictions if row["level"] == "emergency" and level == "routine"]
    assert not missed, f"{len(missed)} emergencies triaged as routine: {missed}"


@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_level_accuracy(predictions: Predictions, split: str) -> None:
    rows = _split(predictions, split)
    accuracy = _ok([row["level"] == level for row, level, _ in rows])
    assert accuracy >= MIN_ACCURACY, f"{split} level accuracy {accuracy:.3f}"


@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_routine_accuracy(predictions: Predictions, split: str) -> None:
    rows = Predictions(p for p in _split(predictions, split) if p[0]["level"] == "routine")
    accuracy = _ok([level == "routine" for _, level, _ in rows])
    assert accuracy >= MIN_ROUTINE_ACCURACY, f"{split} routine accuracy {accuracy:.3f}"
