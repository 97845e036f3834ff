"""Unit tests of the call-level escalation triggers (escalation/triggers.py)."""

from __future__ import annotations

from typing import Any

import pytest

from escalation.thresholds import Thresholds
from escalation.triggers import (
    TRIGGERS,
    CallMonitor,
    Escalation,
    TurnSignal,
    apply_second_opinion,
    distress_score,
    find_phrase,
    fold,
)

pytestmark = pytest.mark.unit


def monitor(**overrides: Any) -> CallMonitor:
    return CallMonitor(Thresholds(**overrides))


def say(m: CallMonitor, text: str, **kwargs: Any) -> Escalation | None:
    fields = {k: kwargs.pop(k) for k in list(kwargs) if k in TurnSignal.__dataclass_fields__}
    return m.on_turn(TurnSignal(text=text, **fields), **kwargs)


ROUTINE = "Bonjour, je voudrais un rendez-vous mardi avec le docteur Martin."


# --- routine calls stay with the agent ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        ROUTINE,
        "Je peux prendre le créneau de dix heures ?",
        "Est-ce que je peux prendre rendez-vous pour ma fille ?",
        "J'ai peur de ne pas pouvoir venir jeudi, je voudrais annuler.",
        "Ce n'est pas grave, je rappellerai.",
        "Je ne suis pas paniquée, c'est juste pour un certificat.",
        "I'd like to book an appointment, please.",
        "Can I take the ten o'clock slot?",
    ],
)
def test_routine_turns_fire_nothing(text: str) -> None:
    m = monitor()
    assert say(m, text, stt_confidence=0.9) is None
    assert not m.escalated


# --- human request ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Je voudrais parler à quelqu'un s'il vous plaît",
        "Passez-moi la secrétaire",
        "Je veux parler à une vraie personne, pas un robot",
        "je veux parler au docteur Martin",
        "Can I speak to a real person?",
    ],
)
def test_human_request_hands_off_immediately(text: str) -> None:
    esc = say(monitor(), text)
    assert esc is not None
    assert (esc.trigger, esc.action, esc.level) == ("human_request", "handoff", "routine")
    assert esc.evidence == text
    assert "parler à une personne" in esc.reason


def test_human_request_from_engine_intent() -> None:
    esc = say(monitor(), "euh voilà", intent="human")
    assert esc is not None and esc.trigger == "human_request"


def test_human_request_on_second_request_when_not_immediate() -> None:
    m = monitor(human_request_immediate=False)
    assert say(m, "Je voudrais parler à quelqu'un") is None
    assert say(m, ROUTINE) is None
    esc = say(m, "Passez-moi la secrétaire, s'il vous plaît")
    assert esc is not None and esc.trigger == "human_request"


@pytest.mark.parametrize(
    "text",
    [
        "Non, pas besoin de parler à quelqu'un, le robot suffit",
        "Je ne veux pas parler à quelqu'un, juste annuler",
        "I don't want to speak to someone, just cancel",
        "Je n'ai pu parler à personne hier",
    ],
)
def test_negated_human_request_is_not_one(text: str) -> None:
    assert say(monitor(), text) is None


# --- clinical question -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Est-ce que c'est grave ?",
        "Je peux lui donner du Doliprane ?",
        "Je voudrais mes résultats de prise de sang",
        "Quelle dose de sirop pour un enfant de 12 kilos ?",
        "Is it serious?",
        "Can I take ibuprofen with my antibiotics?",
    ],
)
def test_clinical_question_follows_the_managers_action(text: str) -> None:
    esc = say(monitor(clinical_question_action="callback"), text)
    assert esc is not None and (esc.trigger, esc.action) == ("clinical_question", "callback")
    esc = say(monitor(clinical_question_action="handoff"), text)
    assert esc is not None and (esc.trigger, esc.action) == ("clinical_question", "handoff")


def test_clinical_question_flag_from_engine() -> None:
    esc = say(monitor(), "et pour le traitement alors", clinical_question=True)
    assert esc is not None and esc.trigger == "clinical_question"


# --- distress and anger ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Je suis paniquée, je ne sais pas quoi faire",
        "Au secours !",
        "J'ai peur",
        "C'est inadmissible, ça fait trois jours que j'appelle",
        "Vous vous foutez de moi ?",
        "I'm scared",
        "Help me please",
    ],
)
def test_distress_fires_at_medium_sensitivity(text: str) -> None:
    esc = say(monitor(distress_sensitivity="medium"), text)
    assert esc is not None and (esc.trigger, esc.action) == ("distress", "handoff")
    assert "Détresse" in esc.reason


def test_distress_sensitivity_weights_the_words() -> None:
    weak = "Je suis un peu inquiète pour mon rendez-vous."
    assert distress_score(weak)[0] == 1
    assert say(monitor(distress_sensitivity="high"), weak) is not None
    m = monitor(distress_sensitivity="medium")
    assert say(m, weak) is None
    assert say(m, "Franchement j'en ai marre") is not None
    low = monitor(distress_sensitivity="low")
    assert say(low, "J'ai peur") is None
    assert say(low, "je suis inquiète") is not None


def test_distress_negation_and_idiom() -> None:
    assert distress_score("je ne suis pas paniquée")[0] == 0
    assert distress_score("I'm not scared")[0] == 0
    assert distress_score("j'ai peur que ce soit trop tard")[0] == 1
    assert distress_score("c'est pas normal, j'ai peur")[0] == 2
    assert distress_score("c est pas normal j ai peur")[0] == 2
    assert distress_score("je suis pas du tout paniquée")[0] == 0


def test_distress_evidence_is_the_callers_words() -> None:
    weight, words = distress_score("Oui alors je suis paniquée, mon fils tousse")
    assert weight == 3 and words == "je suis paniquée"


# --- misunderstanding and low confidence -----------------------------------------------------------------


def test_misunderstandings_must_be_consecutive() -> None:
    m = monitor(max_misunderstandings=2)
    assert say(m, "hein", understood=False) is None
    assert say(m, ROUTINE, understood=True) is None
    assert say(m, "quoi", understood=False) is None
    esc = say(m, "bla", understood=False)
    assert esc is not None and esc.trigger == "misunderstanding" and esc.action == "handoff"
    assert "2 fois" in esc.reason


@pytest.mark.parametrize("limit", [1, 3, 5])
def test_max_misunderstandings_is_honoured(limit: int) -> None:
    m = monitor(max_misunderstandings=limit)
    results = [say(m, "...", understood=False) for _ in range(limit)]
    assert results[:-1] == [None] * (limit - 1)
    assert results[-1] is not None


def test_low_confidence_turns_and_score_are_honoured() -> None:
    m = monitor(low_confidence_score=0.5, low_confidence_turns=3)
    assert say(m, "a", stt_confidence=0.4) is None
    assert say(m, "b", stt_confidence=0.49) is None
    assert say(m, "c", stt_confidence=None) is None  # unknown confidence neither counts nor resets
    esc = say(m, "d", stt_confidence=0.1)
    assert esc is not None and esc.trigger == "low_confidence"


def test_a_confident_turn_resets_low_confidence() -> None:
    m = monitor(low_confidence_score=0.5, low_confidence_turns=2)
    assert say(m, "a", stt_confidence=0.3) is None
    assert say(m, "b", stt_confidence=0.5) is None
    assert say(m, "c", stt_confidence=0.3) is None


# --- silence, duration, component failure ----------------------------------------------------------------


def test_silences_counted_from_max_silence_seconds() -> None:
    m = monitor(max_silence_seconds=8, max_silences=2)
    assert m.on_silence(5) is None  # too short to count
    assert m.on_silence(8) is None
    esc = m.on_silence(9.5)
    assert esc is not None and (esc.trigger, esc.action) == ("silence", "handoff")


def test_a_caller_turn_resets_silences() -> None:
    m = monitor(max_silence_seconds=5, max_silences=2)
    assert m.on_silence(6) is None
    say(m, ROUTINE)
    assert m.on_silence(6) is None
    assert m.on_silence(6) is not None


def test_call_too_long_from_tick_or_turn() -> None:
    m = monitor(max_call_seconds=300)
    assert m.on_tick(300) is None
    esc = m.on_tick(301)
    assert esc is not None and esc.trigger == "call_too_long" and "5 min" in esc.reason
    other = monitor(max_call_seconds=300)
    esc = say(other, ROUTINE, elapsed_s=420)
    assert esc is not None and esc.trigger == "call_too_long"


@pytest.mark.parametrize("component", ["stt", "tts", "llm", "calendar", "something-else"])
def test_component_failure_hands_off_at_once(component: str) -> None:
    esc = monitor().on_component_failure(component)
    assert esc is not None and (esc.trigger, esc.action) == ("component_failure", "handoff")
    assert "Panne technique" in esc.reason


# --- red flags from the triage decision ------------------------------------------------------------------


def test_emergency_red_flag() -> None:
    text = "Mon mari a une douleur dans la poitrine qui serre"
    esc = say(monitor(), text, level="emergency", action="advise_15", rule_ids=("chest_pain",))
    assert esc is not None
    assert (esc.trigger, esc.level, esc.action) == ("red_flag", "emergency", "advise_15")
    assert "chest_pain" in esc.reason and esc.evidence == text


def test_emergency_handoff_kept_when_the_protocol_says_so() -> None:
    esc = say(monitor(), "je veux en finir", level="emergency", action="handoff", rule_ids=("suicide",))
    assert esc is not None and esc.action == "handoff"


@pytest.mark.parametrize(("urgent_action", "expected"), [("handoff", "handoff"), ("callback", "callback")])
def test_urgent_red_flag_without_action_uses_the_managers_choice(urgent_action: str, expected: str) -> None:
    esc = say(monitor(urgent_action=urgent_action), "fièvre 39,5 depuis 4 jours", level="urgent")
    assert esc is not None and (esc.level, esc.action) == ("urgent", expected)


def test_later_triggers_carry_the_calls_level() -> None:
    m = monitor()
    say(m, "il a de la fièvre", level="urgent", action="handoff", rule_ids=("fever_high",))
    esc = say(m, "Est-ce que c'est grave ?")
    assert esc is not None and esc.trigger == "clinical_question"
    assert esc.level == "urgent" and esc.action == "callback"


# --- firing once -----------------------------------------------------------------------------------------


def test_each_trigger_is_reported_once() -> None:
    m = monitor()
    assert say(m, "Je veux parler à quelqu'un") is not None
    assert say(m, "Je veux parler à quelqu'un !") is None
    assert m.on_component_failure("llm") is not None
    assert m.on_component_failure("tts") is None
    for _ in range(4):
        say(m, "...", understood=False)
    assert [e.trigger for e in m.history] == ["human_request", "component_failure", "misunderstanding"]
    assert m.on_tick(10_000) is not None
    assert m.on_tick(10_001) is None


def test_red_flag_fires_again_only_when_the_level_rises() -> None:
    m = monitor()
    assert say(m, "a", level="urgent", action="handoff") is not None
    assert say(m, "b", level="urgent", action="handoff") is None
    assert say(m, "c", level="routine") is None
    esc = say(m, "d", level="emergency", action="advise_15")
    assert esc is not None and esc.level == "emergency"
    assert say(m, "e", level="emergency", action="advise_15") is None
    assert say(m, "f", level="urgent", action="handoff") is None
    assert m.fired["red_flag"] == "emergency"


def test_simultaneous_triggers_report_the_most_important_and_list_the_others() -> None:
    m = monitor()
    esc = say(m, "Au secours, passez-moi quelqu'un, est-ce que c'est grave ?", level="urgent", action="handoff")
    assert esc is not None and esc.trigger == "red_flag"
    assert set(esc.also) == {"human_request", "distress", "clinical_question"}
    assert say(m, "Passez-moi quelqu'un") is None  # already reported with the red flag
    assert len(m.history) == 1


# --- second opinion --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "opinion", "expected"),
    [
        ("routine", "urgent", "urgent"),
        ("routine", "emergency", "emergency"),
        ("urgent", "emergency", "emergency"),
        ("emergency", "routine", "emergency"),
        ("emergency", "urgent", "emergency"),
        ("urgent", "routine", "urgent"),
        ("urgent", None, "urgent"),
        ("emergency", "not-a-level", "emergency"),
        ("routine", "", "routine"),
    ],
)
def test_second_opinion_only_raises(decision: str, opinion: str | None, expected: str) -> None:
    assert apply_second_opinion(decision, opinion) == expected  # type: ignore[arg-type]


def test_second_opinion_used_only_when_enabled() -> None:
    off = monitor(llm_second_opinion=False)
    assert say(off, "j'ai mal au ventre", level="routine", second_opinion_level="urgent") is None
    on = monitor(llm_second_opinion=True, urgent_action="handoff")
    esc = say(on, "j'ai mal au ventre", level="routine", second_opinion_level="urgent")
    assert esc is not None and (esc.trigger, esc.level, esc.action) == ("red_flag", "urgent", "handoff")
    assert "second avis" in esc.reason


def test_second_opinion_cannot_lower_a_red_flag() -> None:
    m = monitor(llm_second_opinion=True)
    esc = say(m, "il ne respire plus", level="emergency", action="advise_15", second_opinion_level="routine")
    assert esc is not None and esc.level == "emergency" and esc.action == "advise_15"


# --- helpers ---------------------------------------------------------------------------------------------


def test_fold_keeps_length_for_evidence_spans() -> None:
    text = "J’ai ÉTÉ piquée — À l'aide"
    assert len(fold(text)) == len(text)
    assert fold(text).startswith("j ai ete piquee")


def test_find_phrase_returns_original_words() -> None:
    from escalation.triggers import HUMAN_REQUEST

    assert find_phrase(HUMAN_REQUEST, "Bon. Passez-moi la Secrétaire !") == "Passez-moi la Secrétaire"


def test_trigger_names_are_the_documented_ones() -> None:
    assert set(TRIGGERS) == {
        "human_request", "clinical_question", "distress", "misunderstanding", "low_confidence",
        "silence", "call_too_long", "component_failure", "red_flag",
    }
