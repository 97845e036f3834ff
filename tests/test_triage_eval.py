"""Evaluation of the triage engine on the labelled caller utterances of prompts/triage/eval/triage_eval.jsonl (dev and
holdout splits) and tests/data/triage_dev2.jsonl (a second, independently written development set).

Failure messages name utterance ids and counts only: the holdout's text must never reach whoever tunes the
protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from escalation.triage import TriageEngine
from prompts import TRIAGE_EVAL_SET

pytestmark = pytest.mark.unit

EVAL_PATH = TRIAGE_EVAL_SET
DEV2_PATH = Path(__file__).parent / "data" / "triage_dev2.jsonl"
MIN_ACCURACY = 0.85
MIN_ROUTINE_ACCURACY = 0.70
MIN_DEV2_ACCURACY = 0.95
MIN_DEV2_ROUTINE_ACCURACY = 0.90
MIN_DEV2_EMERGENCY_RECALL = 0.95
LEVELS = {"emergency", "urgent", "routine"}
INTENTS = {"book", "cancel", "reschedule", "confirm", "info", "prescription", "message", "human", "symptom", "other"}


def load_eval() -> list[dict[str, Any]]:
    """Every labelled utterance (both splits)."""
    with EVAL_PATH.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_dev2() -> list[dict[str, Any]]:
    """The second development set (no split field: all of it may be read and tuned on)."""
    with DEV2_PATH.open(encoding="utf-8") as handle:
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


@pytest.fixture(scope="module")
def dev2_predictions() -> Predictions:
    engine = TriageEngine.default()
    out = Predictions()
    for row in load_dev2():
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


# --- second development set (tests/data/triage_dev2.jsonl) ------------------------------------------------------


def test_dev2_is_well_formed() -> None:
    rows = load_dev2()
    assert len(rows) >= 300
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row) == {"id", "text", "lang", "level", "intent", "tags"}, row["id"]
        assert row["id"].startswith(f"d2-{row['lang']}-"), row["id"]
        assert row["lang"] in ("fr", "en") and row["level"] in LEVELS and row["intent"] in INTENTS, row["id"]
        assert row["text"].strip() and isinstance(row["tags"], list), row["id"]
    french = sum(r["lang"] == "fr" for r in rows) / len(rows)
    assert 0.75 <= french <= 0.85
    share = {level: sum(r["level"] == level for r in rows) / len(rows) for level in LEVELS}
    assert share["emergency"] >= 0.25 and share["urgent"] >= 0.20 and share["routine"] >= 0.40


def test_dev2_does_not_copy_the_eval_set() -> None:
    eval_texts = {r["text"].strip().lower() for r in load_eval()}
    copied = [r["id"] for r in load_dev2() if r["text"].strip().lower() in eval_texts]
    assert not copied, f"{len(copied)} dev2 lines copy the eval set: {copied}"


def test_no_emergency_is_triaged_as_routine_on_dev2(dev2_predictions: Predictions) -> None:
    missed = [row["id"] for row, level, _ in dev2_predictions if row["level"] == "emergency" and level == "routine"]
    assert not missed, f"{len(missed)} dev2 emergencies triaged as routine: {missed}"


@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_no_emergency_is_triaged_as_routine_per_split(predictions: Predictions, split: str) -> None:
    missed = [row["id"] for row, level, _ in _split(predictions, split)
              if row["level"] == "emergency" and level == "routine"]
    assert not missed, f"{split}: {len(missed)} emergencies triaged as routine: {missed}"


def test_dev2_level_accuracy(dev2_predictions: Predictions) -> None:
    accuracy = _ok([row["level"] == level for row, level, _ in dev2_predictions])
    wrong = [row["id"] for row, level, _ in dev2_predictions if row["level"] != level]
    assert accuracy >= MIN_DEV2_ACCURACY, f"dev2 level accuracy {accuracy:.3f}; wrong: {wrong}"


def test_dev2_routine_accuracy(dev2_predictions: Predictions) -> None:
    rows = [(row, level) for row, level, _ in dev2_predictions if row["level"] == "routine"]
    accuracy = _ok([level == "routine" for _, level in rows])
    over = [row["id"] for row, level in rows if level != "routine"]
    assert accuracy >= MIN_DEV2_ROUTINE_ACCURACY, f"dev2 routine accuracy {accuracy:.3f}; over-triaged: {over}"


def test_dev2_emergency_recall(dev2_predictions: Predictions) -> None:
    rows = [(row, level) for row, level, _ in dev2_predictions if row["level"] == "emergency"]
    recall = _ok([level == "emergency" for _, level in rows])
    under = [row["id"] for row, level in rows if level != "emergency"]
    assert recall >= MIN_DEV2_EMERGENCY_RECALL, f"dev2 emergency recall {recall:.3f}; under-triaged: {under}"
