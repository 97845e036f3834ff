"""What-if replay against hand-computed expectations."""

from __future__ import annotations

import pytest

from escalation.replay import Utterance, replay
from escalation.thresholds import Thresholds
from escalation.triage import TriageEngine

pytestmark = pytest.mark.unit

UTTERANCES = [
    Utterance("chest", "j'ai une douleur dans la poitrine qui serre comme un étau", "emergency"),
    Utterance("fever", "ma fille de 6 ans a 39,5 de fièvre", "urgent"),
    Utterance("book", "je voudrais un rendez-vous la semaine prochaine", "routine"),
    Utterance("hours", "vous êtes ouverts samedi ?", None),
]


def test_same_thresholds_change_nothing():
    engine = TriageEngine.default()
    report = replay(UTTERANCES, active=engine, draft=engine)
    assert report.changed == []
    assert report.active.to_dict() == report.draft.to_dict()
    figures = report.active.to_dict()
    assert figures["total"] == 4 and figures["labelled"] == 3
    assert figures["emergencies"] == 1 and figures["emergencies_caught"] == 1
    assert figures["accuracy"] == 1.0
    assert figures["escalation_rate"] == 0.5  # advise_15 + handoff out of 4


def test_a_higher_fever_threshold_lowers_the_fever_call_only():
    engine = TriageEngine.default()
    draft = engine.with_thresholds(Thresholds(high_fever_celsius=40.0))
    report = replay(UTTERANCES, active=engine, draft=draft)
    assert [c.id for c in report.changed] == ["fever"]
    assert report.changed[0].active == {"level": "urgent", "action": "handoff"}
    assert report.changed[0].draft["level"] == "routine"
    assert report.draft.to_dict()["accuracy"] == round(2 / 3, 4)
    assert report.draft.to_dict()["emergencies_as_routine"] == 0
