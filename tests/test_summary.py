"""The deterministic hand-off summary: who, why, rules with the caller's words, what was done, next step."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from escalation.summary import HandoffSummary, build_summary, polish_summary
from practice.models import Call, Patient, Practice, Practitioner, Ticket, Turn

pytestmark = pytest.mark.unit

CHEST = {"id": "chest_pain", "level": "emergency", "label": "Douleur thoracique",
         "evidence": "une douleur qui serre dans la poitrine", "action": "advise_15"}
BREATH = {"id": "dyspnoea", "level": "urgent", "label": "Gêne respiratoire", "evidence": "j'ai du mal à respirer"}


def _turn(seq: int, speaker: str, text: str, triage: dict[str, object] | None = None) -> Turn:
    return Turn(call_id="c1", seq=seq, speaker=speaker, text=text, triage=triage,
                at=datetime(2026, 11, 24, 9, 0, seq, tzinfo=UTC))


def _emergency_call() -> tuple[Ticket, Call, list[Turn]]:
    ticket = Ticket(id="c1", practice_id=1, level="urgent", reason="", caller_number="+33612345678",
                    practitioner_id=3)
    call = Call(id="c1", practice_id=1, caller_number="+33612345678", triage_level="routine")
    turns = [
        _turn(3, "caller", "Oui et j'ai une douleur qui serre dans la poitrine, j'ai du mal à respirer",
              {"level": "emergency", "intent": "symptom", "rules": [BREATH, CHEST]}),
        _turn(1, "agent", "Maison de santé des Tilleuls, bonjour, que puis-je pour vous ?"),
        _turn(2, "caller", "Je voudrais un rendez-vous avec le docteur Martin",
              {"level": "routine", "intent": "book", "rules": [],
               "actions": [{"kind": "slots_offered", "slots": ["2026-11-25T10:00:00", "2026-11-25T10:20:00"],
                            "practitioner": "Dr Claire Martin"}]}),
    ]
    return ticket, call, turns


def test_emergency_summary_has_level_rules_evidence_and_transcript_in_order():
    ticket, call, turns = _emergency_call()
    patient = Patient(first_name="Jeanne", last_name="Rousseau", birth_date=date(1948, 3, 12), phone="0612345678")
    practice = Practice(id=1, name="Maison de santé des Tilleuls", slug="t")
    doctor = Practitioner(id=3, practice_id=1, title="Dr", first_name="Claire", last_name="Martin",
                          profession="médecin généraliste")
    s = build_summary(ticket=ticket, call=call, turns=turns, patient=patient, practice=practice,
                      practitioner=doctor)
    assert s.level == "emergency"  # the most urgent of ticket, call and turns
    assert s.caller.name == "Jeanne Rousseau" and s.caller.number == "06 12 34 56 78"
    assert s.caller.birth_date == date(1948, 3, 12)
    assert (s.practice_name, s.practitioner_name) == ("Maison de santé des Tilleuls", "Dr Claire Martin")
    assert s.reason == "Douleur thoracique"  # the most urgent rule's label when the ticket gives none
    assert [r.id for r in s.rules] == ["chest_pain", "dyspnoea"]
    assert s.rules[0].evidence == "une douleur qui serre dans la poitrine"
    assert [a.kind for a in s.actions] == ["slots_offered"]
    assert s.actions[0].text == "Créneaux proposés avec Dr Claire Martin : 25/11/2026 à 10:00, 25/11/2026 à 10:20"
    assert "15" in s.next_step
    assert [t.seq for t in s.transcript] == [1, 2, 3]


def test_french_text_rendering():
    ticket, call, turns = _emergency_call()
    text = build_summary(ticket=ticket, call=call, turns=turns).to_text()
    assert text.splitlines()[0] == "Appel transmis — URGENCE VITALE"
    assert "Appelant : Nom non donné, 06 12 34 56 78" in text
    assert "  - Douleur thoracique (URGENCE VITALE) : « une douleur qui serre dans la poitrine »" in text
    assert "  Appelant : Je voudrais un rendez-vous avec le docteur Martin" in text
    assert "À faire : Urgence vitale possible" in text


def test_to_dict_is_json_ready_and_round_trips():
    ticket, call, turns = _emergency_call()
    s = build_summary(ticket=ticket, call=call, turns=turns)
    data = s.to_dict()
    assert data["level"] == "emergency" and data["transcript"][0]["at"].startswith("2026-11-24T09:00:01")
    assert HandoffSummary.model_validate(data) == s


def test_caller_given_in_the_ticket_without_patient_record():
    ticket = Ticket(id="c2", practice_id=1, level="routine", reason="Demande à parler à la secrétaire",
                    caller_number="0478123456",
                    summary={"caller": {"name": "M. Petit", "birth_date": "1979-07-02"},
                             "actions": [{"kind": "appointment_found", "starts_at": "2026-11-26T14:40:00",
                                          "practitioner": "Dr Lefebvre"}, {"kind": "unknown_kind"}]})
    s = build_summary(ticket=ticket)
    assert (s.caller.name, s.caller.number, s.caller.birth_date) == ("M. Petit", "04 78 12 34 56", date(1979, 7, 2))
    assert [a.text for a in s.actions] == ["Rendez-vous existant trouvé avec Dr Lefebvre : 26/11/2026 à 14:40"]
    assert s.level == "routine" and s.next_step.startswith("Reprendre la demande")
    assert s.transcript == [] and s.rules == []


def test_reason_falls_back_to_intent_then_first_words_and_is_one_line():
    ticket = Ticket(id="c3", practice_id=1)
    by_intent = build_summary(ticket=ticket, turns=[_turn(1, "caller", "euh", {"level": "routine",
                                                                                "intent": "prescription"})])
    assert by_intent.reason == "Ordonnance"
    long_text = "Bonjour\n" + "je voudrais savoir " * 20
    by_words = build_summary(ticket=ticket, turns=[_turn(1, "caller", long_text)])
    assert "\n" not in by_words.reason and len(by_words.reason) <= 160 and by_words.reason.endswith("…")
    assert build_summary(ticket=ticket).reason == "Motif non précisé"


def test_next_step_for_urgent_callback_and_offered_slots():
    urgent = build_summary(ticket=Ticket(id="u", level="urgent", reason="Fièvre chez un nourrisson"))
    assert urgent.next_step.startswith("Appel urgent")
    due = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
    callback = build_summary(ticket=Ticket(id="cb", kind="callback", level="routine", reason="Résultats",
                                           caller_number="0612345678", callback_due=due))
    assert callback.next_step == "Rappeler 06 12 34 56 78 avant 24/11 à 17:30 : Résultats."
    offered = build_summary(ticket=Ticket(id="s", summary={"actions": [{"kind": "slots_offered", "slots": []}]}))
    assert offered.next_step.startswith("Des créneaux ont déjà été proposés")


class _Polisher:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def polish(self, summary: HandoffSummary) -> HandoffSummary:
        if self.fail:
            raise TimeoutError("LLM too slow")
        summary.reason = "Douleur thoracique depuis une heure, patiente de 78 ans"
        summary.level = "routine"  # a polisher may not change the facts
        summary.rules = []
        return summary


def test_polisher_rewords_but_keeps_facts_and_falls_back_on_failure():
    ticket, call, turns = _emergency_call()
    s = build_summary(ticket=ticket, call=call, turns=turns)
    polished = polish_summary(s, _Polisher())
    assert polished.source == "llm" and polished.reason.startswith("Douleur thoracique depuis")
    assert polished.level == "emergency" and len(polished.rules) == 2
    assert polish_summary(s, _Polisher(fail=True)) == s
    assert polish_summary(s, None) is s
