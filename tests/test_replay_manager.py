"""The thresholds editor's API on SQLite and PostgreSQL: what-if replay on recorded calls against hand-computed
figures, French refusals, audited activation and roll-back, and role checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from console.manager.whatif import EVAL_SET_PATH, Assessor, Outcome, Sample, call_outcome, compare
from escalation.thresholds import Thresholds
from practice.models import AuditLog, ThresholdConfig
from tests.console_fixtures import ConsoleWorld, make_console
from tests.manager_fixtures import RecordedCall, client_as, record_calls, utc
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

CHEST = "j'ai une douleur qui serre dans la poitrine depuis vingt minutes"
FEVER = "ma fille de 6 ans a 39,5 de fièvre"
CLINICAL = "est-ce que je peux prendre du doliprane avec mon traitement ?"
PERIOD = {"date_from": "2030-03-01", "date_to": "2030-03-31"}


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=2)
    w.app.state.whatif_assessor = Assessor(workers=1)  # small sets: no process pool in the unit of work
    yield w
    drop_prefix(shared_redis, w.keys)


def _seed(world: ConsoleWorld) -> None:
    """Six caller turns in practice 0 during March 2030, plus calls that must not be replayed."""
    p0, p1 = world.practice_ids
    record_calls(world.engine, [
        # A: the secretary sent the caller to the 15 → reference label "emergency" on both caller turns.
        RecordedCall("a" * 32, p0, utc(2030, 3, 4, 9), (CHEST, "d'accord merci"), "advised_15", "emergency"),
        # B: redirected to the on-call service → "urgent".
        RecordedCall("b" * 32, p0, utc(2030, 3, 5, 10), (FEVER, "bonjour"), "redirected_on_call", "urgent"),
        RecordedCall("c" * 32, p0, utc(2030, 3, 6, 11), ("je voudrais un rendez-vous mardi",)),
        RecordedCall("d" * 32, p0, utc(2030, 3, 7, 12), (CLINICAL,)),
        RecordedCall("e" * 32, p1, utc(2030, 3, 8, 9), (FEVER,)),  # another practice
        RecordedCall("f" * 32, p0, utc(2030, 2, 27, 9), (FEVER,)),  # before the period
    ])


def _replay(client: Any, practice_id: int | None, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    answer = client.post("/api/manager/thresholds/replay",
                         json={"practice_id": practice_id, "values": values, **PERIOD, **extra})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_replay_on_recorded_calls_matches_hand_computed_figures(world: ConsoleWorld):
    _seed(world)
    with client_as(world, "manager") as manager:
        result = _replay(manager, world.practice_ids[0], {"high_fever_celsius": 40.0}, include_eval=False)
    recorded = result["recorded"]
    active, draft = recorded["active"], recorded["draft"]
    assert recorded["unit"] == "call"
    assert recorded["calls"] == 4 and active["total"] == 4 and active["labelled"] == 2
    # Per call (its most serious turn): A chest → advise_15, B fever → handoff, C booking → self-service,
    # D clinical question → callback: 3 of 4 escalate. A is the one labelled emergency, and it is caught.
    assert active["escalation_rate"] == 0.75
    assert (active["emergencies"], active["emergencies_caught"], active["emergencies_as_routine"]) == (1, 1, 0)
    assert active["accuracy"] == 1.0 and active["over_triage_rate"] == 0.0
    # Draft (fever threshold 40 °C): the 39.5 °C child becomes routine self-service; B (urgent) is now missed.
    assert draft["escalation_rate"] == 0.5
    assert (draft["emergencies"], draft["emergencies_caught"], draft["emergencies_as_routine"]) == (1, 1, 0)
    assert draft["accuracy"] == 0.5 and draft["over_triage_rate"] == 0.0
    assert recorded["changed_total"] == 1 and recorded["changed_calls"] == 1
    change = recorded["changed"][0]
    assert change["call_id"] == "b" * 32 and change["text"] == FEVER and change["label"] == "urgent"
    assert change["active"] == {"level": "urgent", "action": "handoff"}
    assert change["draft"] == {"level": "routine", "action": "self_service"}
    assert result["evaluation_available"] is False


def test_same_values_change_nothing_and_group_scope_covers_every_practice(world: ConsoleWorld):
    _seed(world)
    with client_as(world, "admin") as admin:
        result = _replay(admin, None, {}, include_eval=False)
    assert result["recorded"]["calls"] == 5  # both practices, still only March
    assert result["recorded"]["changed_total"] == 0
    assert result["recorded"]["active"] == result["recorded"]["draft"]


def test_replay_over_an_evaluation_set(world: ConsoleWorld, tmp_path: Path):
    lines = [{"id": "e1", "text": CHEST, "level": "emergency"}, {"id": "e2", "text": FEVER, "level": "urgent"},
             {"id": "e3", "text": "j'ai 38,7 de fièvre depuis hier", "level": "routine"}]
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in lines) + "\n", encoding="utf-8")
    world.app.state.triage_eval_path = path
    with client_as(world, "manager") as manager:
        result = _replay(manager, world.practice_ids[0], {"high_fever_celsius": 38.5})
    evaluation = result["evaluation"]
    assert result["evaluation_available"] is True
    assert evaluation["active"]["total"] == 3 and evaluation["active"]["over_triage_rate"] == 0.0
    # At 38.5 °C the 38.7 °C adult becomes urgent: one over-triaged line out of three.
    assert evaluation["draft"]["over_triage_rate"] == round(1 / 3, 4)
    assert [c["id"] for c in evaluation["changed"]] == ["e3"]
    assert evaluation["changed"][0]["call_id"] is None


def test_the_protocol_evaluation_set_is_replayed_by_default(world: ConsoleWorld):
    with client_as(world, "manager") as manager:
        result = _replay(manager, world.practice_ids[0], {})
    total = sum(1 for line in EVAL_SET_PATH.read_text(encoding="utf-8").splitlines() if line.strip())
    assert result["evaluation"]["active"]["total"] == total
    assert result["evaluation"]["active"]["emergencies"] > 0
    assert result["evaluation"]["changed_total"] == 0


def test_invalid_draft_is_refused_in_french_and_nothing_is_saved(world: ConsoleWorld):
    with client_as(world, "manager") as manager:
        bad = manager.post("/api/manager/thresholds/drafts", json={
            "practice_id": world.practice_ids[0],
            "values": {"high_fever_celsius": 45, "sla_seconds": {"emergency": 300, "urgent": 100}}})
        assert bad.status_code == 422
        detail = bad.json()["detail"]
        assert detail["message"].startswith("Réglages refusés")
        errors = {e["field"]: e["message"] for e in detail["errors"]}
        assert errors["high_fever_celsius"] == "doit être inférieur ou égal à 40.5"
        assert "les délais doivent croître" in errors["sla_seconds"]
        replay = manager.post("/api/manager/thresholds/replay", json={"values": {"max_silences": "beaucoup"}})
        assert replay.status_code == 422
        assert replay.json()["detail"]["errors"][0] == {"field": "max_silences",
                                                        "message": "doit être un nombre entier"}
        check = manager.post("/api/manager/thresholds/validate", json={"values": {"urgent_action": "wait"}}).json()
        assert check["valid"] is False and "valeurs possibles" in check["errors"][0]["message"]
    with Session(world.engine) as session:
        assert session.exec(select(ThresholdConfig)).all() == []
        assert session.exec(select(AuditLog).where(AuditLog.entity == "threshold_config")).all() == []


def test_activate_requires_a_reason_and_activation_and_rollback_are_audited(world: ConsoleWorld):
    practice = world.practice_ids[0]
    with client_as(world, "manager") as manager:
        first = manager.post("/api/manager/thresholds/drafts",
                             json={"practice_id": practice, "values": {"high_fever_celsius": 38.5}}).json()
        no_reason = manager.post(f"/api/manager/thresholds/{first['id']}/activate", json={"reason": "  "})
        assert no_reason.status_code == 422
        assert no_reason.json()["detail"]["errors"][0]["field"] == "reason"
        on = manager.post(f"/api/manager/thresholds/{first['id']}/activate", json={"reason": "Épidémie de grippe"})
        assert on.status_code == 200 and on.json()["status"] == "active"
        second = manager.post("/api/manager/thresholds/drafts",
                              json={"practice_id": practice, "values": {"max_silences": 3}}).json()
        edited = manager.put(f"/api/manager/thresholds/drafts/{second['id']}", json={"values": {"max_silences": 4}})
        assert edited.status_code == 200 and edited.json()["values"]["max_silences"] == 4
        manager.post(f"/api/manager/thresholds/{second['id']}/activate", json={"reason": "Moins de relances"})
        again = manager.put(f"/api/manager/thresholds/drafts/{second['id']}", json={"values": {}})
        assert again.status_code == 409  # an active version is no longer editable
        back = manager.post("/api/manager/thresholds/rollback",
                            json={"practice_id": practice, "to_version": 1, "reason": "Fin de l'épidémie"})
        assert back.status_code == 200
        assert back.json()["version"] == 3 and back.json()["values"]["high_fever_celsius"] == 38.5
        view = manager.get("/api/manager/thresholds", params={"practice_id": practice}).json()
        missing = manager.post("/api/manager/thresholds/rollback",
                               json={"practice_id": practice, "to_version": 42, "reason": "essai"})
        assert missing.status_code == 404
    assert view["active"]["version"] == 3 and view["effective_values"]["high_fever_celsius"] == 38.5
    assert [v["status"] for v in view["history"]] == ["active", "archived", "archived"]
    trail = [(a["action"], a["version"], a["reason"], a["actor"]) for a in reversed(view["audit"])]
    manager_name = world.username("manager")
    assert trail == [
        ("threshold.create_draft", 1, "", manager_name),
        ("threshold.activate", 1, "Épidémie de grippe", manager_name),
        ("threshold.create_draft", 2, "", manager_name),
        ("threshold.update_draft", 2, "", manager_name),
        ("threshold.activate", 2, "Moins de relances", manager_name),
        ("threshold.rollback", 3, "Fin de l'épidémie", manager_name),
    ]
    assert view["audit"][0]["changes"]["max_silences"] == {"before": 4, "after": 2}
    with Session(world.engine) as session:
        row = session.exec(select(AuditLog).where(AuditLog.action == "threshold.rollback")).one()
        assert row.actor_user_id == world.users["manager"] and row.detail["rolled_back_to"] == 1
        assert row.at is not None


def test_fields_carry_the_french_explanations(world: ConsoleWorld):
    with client_as(world, "manager") as manager:
        fields = {f["name"]: f for f in manager.get("/api/manager/thresholds/fields").json()}
    assert fields["high_fever_celsius"]["kind"] == "float" and fields["high_fever_celsius"]["maximum"] == 40.5
    assert "urgent" in fields["high_fever_celsius"]["description"]
    assert fields["urgent_action"]["kind"] == "choice"
    assert {c["value"] for c in fields["urgent_action"]["choices"]} == {"handoff", "callback"}
    assert fields["sla_seconds.urgent"]["group"].startswith("Délais")


ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/manager/thresholds", None),
    ("get", "/api/manager/thresholds/fields", None),
    ("post", "/api/manager/thresholds/validate", {"values": {}}),
    ("post", "/api/manager/thresholds/drafts", {"values": {}}),
    ("put", "/api/manager/thresholds/drafts/1", {"values": {}}),
    ("post", "/api/manager/thresholds/replay", {"values": {}}),
    ("post", "/api/manager/thresholds/1/activate", {"reason": "essai"}),
    ("post", "/api/manager/thresholds/rollback", {"to_version": 1, "reason": "essai"}),
    ("get", "/api/manager/reports", None),
    ("get", "/api/manager/reports/volume.csv", None),
]


def test_a_secretary_gets_403_and_an_anonymous_visitor_401(world: ConsoleWorld):
    with client_as(world, "sec0") as secretary:
        for method, url, body in ROUTES:
            answer = secretary.request(method, url, json=body)
            assert answer.status_code == 403, (method, url, answer.status_code)
        for page in ("/manager/thresholds", "/manager/reports", f"/manager/calls/{'a' * 32}"):
            assert secretary.get(page).status_code == 403
    with client_as(world, None) as anonymous:
        for method, url, body in ROUTES:
            assert anonymous.request(method, url, json=body).status_code in (401, 403), url
        redirect = anonymous.get("/manager/thresholds", follow_redirects=False)
        assert redirect.status_code == 303 and redirect.headers["location"] == "/login?next=/manager/thresholds"


def test_writes_need_the_csrf_token(world: ConsoleWorld):
    with client_as(world, "manager") as manager:
        del manager.headers["X-CSRF-Token"]
        answer = manager.post("/api/manager/thresholds/drafts", json={"values": {}})
        assert answer.status_code == 403 and "CSRF" in answer.json()["detail"]


def test_pages_render_and_the_call_page_shows_the_transcript(world: ConsoleWorld):
    _seed(world)
    with client_as(world, "manager") as manager:
        page = manager.get("/manager/thresholds", params={"practice_id": world.practice_ids[0]})
        assert page.status_code == 200
        assert "Seuil de fièvre élevée" in page.text and "au-delà, l&#39;appel est traité comme urgent" in page.text
        call = manager.get(f"/manager/calls/{'b' * 32}")
        assert call.status_code == 200 and "39,5 de fièvre" in call.text
        assert manager.get("/manager/calls/unknown").status_code == 404
        assert manager.get("/manager/thresholds", params={"practice_id": 999999}).status_code == 404
    with Session(world.engine) as session:
        views = session.exec(select(AuditLog).where(AuditLog.entity == "call", col(AuditLog.action) == "view")).all()
        assert [v.entity_id for v in views] == ["b" * 32]


def test_period_is_checked(world: ConsoleWorld):
    with client_as(world, "manager") as manager:
        reversed_period = manager.post("/api/manager/thresholds/replay", json={
            "values": {}, "date_from": date(2030, 3, 5).isoformat(), "date_to": date(2030, 3, 1).isoformat()})
        assert reversed_period.status_code == 422
        assert "précéder" in reversed_period.json()["detail"]


def test_worker_processes_give_the_same_outcomes_as_inline():
    texts = [CHEST, FEVER, CLINICAL, "bonjour", "je voudrais un rendez-vous mardi"]
    configs = [Thresholds(), Thresholds(high_fever_celsius=40.0)]
    inline = Assessor(workers=1).outcomes(configs, texts)
    pooled = Assessor(workers=2, parallel_min=1)
    try:
        assert pooled.outcomes(configs, texts) == inline
        assert pooled.outcomes(configs, [*texts, "merci au revoir"])[1]["merci au revoir"].level == "routine"
    finally:
        pooled.close(wait=True)
    assert inline[0][FEVER] != inline[1][FEVER]


def test_a_call_is_handled_as_its_most_serious_turn():
    """A turn that changes inside a call already sent to the 15 changes nothing about the call."""
    turns = [Sample("x:1", FEVER, "emergency", "x" * 32, 1), Sample("x:2", CHEST, "emergency", "x" * 32, 2),
             Sample("y:1", "bonjour", None, "y" * 32, 1), Sample("y:2", FEVER, None, "y" * 32, 2)]
    assessor = Assessor(workers=1)
    section = compare(turns, Thresholds(), Thresholds(high_fever_celsius=40.0), assessor, by_call=True)
    figures = section.to_dict()
    assert figures["unit"] == "call" and figures["calls"] == 2 and figures["active"]["total"] == 2
    assert figures["active"]["emergencies_caught"] == 1 and figures["draft"]["emergencies_caught"] == 1
    assert figures["changed_total"] == 1, "only y changes: x stays an emergency"
    change = figures["changed"][0]
    assert change["call_id"] == "y" * 32 and change["seq"] == 2 and change["text"] == FEVER
    per_turn = compare(turns, Thresholds(), Thresholds(high_fever_celsius=40.0), assessor).to_dict()
    assert per_turn["unit"] == "utterance" and per_turn["active"]["total"] == 4 and per_turn["changed_total"] == 2


@pytest.mark.unit
def test_call_outcome_prefers_the_higher_level_then_the_more_escalating_action():
    routine = Outcome("routine", "self_service", "r")
    callback = Outcome("routine", "callback", "c")
    urgent = Outcome("urgent", "handoff", "u")
    assert call_outcome([routine, callback]) == callback
    assert call_outcome([callback, urgent, routine]) == urgent
    assert call_outcome([routine]) == routine
