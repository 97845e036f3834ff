"""Intent, dialog act and info topic detection: rules, the packaged USE-multilingual model, and both combined.

Floors, on tests/data/dialog_intents.jsonl (151 utterances, 1 utterance = 0.66 %):
- embedding alone >= 0.88: it was never tuned on this set (0.914 measured); five utterances of slack for
  edits to the example sentences.
- rules alone >= 0.85 and combined >= 0.93: the first pass, before any rule was adjusted after reading
  this set's misses, scored 0.874 and 0.940 (now 0.914 and 0.993); a change that falls back below an
  untuned system fails.
On the triage team's set (prompts/triage/eval/triage_eval.jsonl, intents labelled independently, acts folded into
`other`), the held-out quarter was never used for tuning: combined 0.811, rules 0.783, embedding 0.698;
floors 0.77 / 0.74 / 0.65. The combination must beat or equal each method alone on both sets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.dialog.intents import LABELS, IntentClassifier, IntentResult, Method, default_classifier
from prompts import TRIAGE_EVAL_SET

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data"


def _load(name: str | Path) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return default_classifier()


def accuracy(classifier: IntentClassifier, rows: list[dict[str, str]], method: Method, key: str) -> float:
    def predicted(result: IntentResult) -> str:
        return result.label if key == "label" else result.task

    hits = sum(predicted(classifier.classify(row["text"], method)) == row[key] for row in rows)
    return hits / len(rows)


def test_labelled_set_is_large_and_covers_every_label() -> None:
    rows = _load("dialog_intents.jsonl")
    assert len(rows) >= 120
    assert {row["label"] for row in rows} == set(LABELS)
    assert {row["lang"] for row in rows} == {"fr", "en"}
    assert len({row["id"] for row in rows}) == len(rows)


def test_accuracy_floors_and_combination_wins(classifier: IntentClassifier) -> None:
    rows = _load("dialog_intents.jsonl")
    scores = {method: accuracy(classifier, rows, method, "label") for method in Method}
    assert scores[Method.RULES] >= 0.85, scores
    assert scores[Method.EMBEDDING] >= 0.88, scores
    assert scores[Method.COMBINED] >= 0.93, scores
    assert scores[Method.COMBINED] >= max(scores[Method.RULES], scores[Method.EMBEDDING]), scores


def test_held_out_triage_set(classifier: IntentClassifier) -> None:
    rows = [row for row in _load(TRIAGE_EVAL_SET) if row["split"] == "holdout"]
    scores = {method: accuracy(classifier, rows, method, "intent") for method in Method}
    assert scores[Method.RULES] >= 0.74, scores
    assert scores[Method.EMBEDDING] >= 0.65, scores
    assert scores[Method.COMBINED] >= 0.77, scores
    assert scores[Method.COMBINED] >= max(scores[Method.RULES], scores[Method.EMBEDDING]), scores


def test_info_topics(classifier: IntentClassifier) -> None:
    rows = [row for row in _load("dialog_intents.jsonl") if row["label"] == "info"]
    topics = [classifier.classify(row["text"]).topic for row in rows]
    hits = sum(topic == row["topic"] for topic, row in zip(topics, rows, strict=True))
    assert hits >= len(rows) - 1, list(zip(topics, [row["topic"] for row in rows], strict=True))


@pytest.mark.parametrize(
    ("text", "label", "topic"),
    [
        ("je voudrais annuler mon rendez-vous de jeudi", "cancel", None),
        ("je voudrais un rendez-vous pour un renouvellement d'ordonnance", "book", None),
        ("c'est pour renouveler mon ordonnance", "prescription", None),
        ("est-ce que je peux parler à la secrétaire", "human", None),
        ("vous fermez à quelle heure le samedi", "info", "hours"),
        ("il y a un parking devant le cabinet", "info", "access"),
        ("oui d'accord", "yes", None),
        ("non merci", "no", None),
        ("pardon ?", "repeat", None),
        ("merci c'est tout au revoir", "goodbye", None),
        ("sorry wrong number", "other", None),
    ],
)
def test_examples(classifier: IntentClassifier, text: str, label: str, topic: str | None) -> None:
    result = classifier.classify(text)
    assert (result.label, result.topic) == (label, topic)


def test_sure_rules_decide_and_report_it(classifier: IntentClassifier) -> None:
    result = classifier.classify("je dois annuler mon rendez-vous")
    assert result.source == "rules"
    assert result.confidence >= 0.9
    assert 0.0 <= classifier.classify("hmm bon alors voilà").confidence <= 1.0


def test_embedding_catches_what_rules_miss(classifier: IntentClassifier) -> None:
    text = "mon rendez-vous de demain, je ne pourrais finalement pas m'y rendre"
    assert classifier.classify(text, Method.EMBEDDING).label == "cancel"


def test_acts_fold_into_other_as_a_task(classifier: IntentClassifier) -> None:
    result = classifier.classify("oui")
    assert result.is_act
    assert result.task == "other"
