"""The manager's console in English (cookie permanence_lang=en): pages, charts, API refusals and CSV exports hold
no French but the data; without the cookie everything stays French."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlmodel import Session, select

from console.i18n import LANGUAGE_COOKIE, LazyText, tr
from console.manager.fields import threshold_fields
from console.manager.reports import Table
from practice.db import make_engine, migrate
from practice.models import Practice
from tests.console_fixtures import ConsoleWorld, make_console
from tests.i18n_checks import french_leftovers
from tests.manager_fixtures import RecordedCall, client_as, record_calls, utc
from tests.queue_fixtures import SHARED_REDIS, drop_prefix
from tests.test_reports import WEEK, seed_week

FEVER = "ma fille de 6 ans a 39,5 de fièvre"
# Data that is rightly French on an English page: the seeded tickets' reasons, the recorded turns.
REASONS = ("Douleur thoracique", "Fièvre élevée", "Question médicale", "Demande à parler à une personne")
TURNS = ("Cabinet médical, bonjour.", FEVER, "bonjour")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ConsoleWorld]:
    engine = make_engine(f"sqlite:///{tmp_path / 'permanence.db'}")
    migrate(engine)
    redis = Redis.from_url(SHARED_REDIS)
    w = make_console(engine, redis, secretaries=1)
    yield w
    drop_prefix(redis, w.keys)
    redis.close()
    engine.dispose()


def _names(world: ConsoleWorld) -> tuple[str, ...]:
    with Session(world.engine) as session:
        return tuple(p.name for p in session.exec(select(Practice)))


def _english(client: TestClient) -> TestClient:
    client.cookies.set(LANGUAGE_COOKIE, "en")
    return client


def _ok(answer: Any) -> str:
    assert answer.status_code == 200, answer.text
    text: str = answer.text
    return text


# --- units -------------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_labels_keep_their_identity_and_translate_where_shown():
    label = LazyText("En attente d'une secrétaire — {level}", level=LazyText("Courant"))
    assert label == "En attente d'une secrétaire — Courant"  # the French text: what the data compares
    table = Table("Appels abandonnés", ["Moment", "Part"], [[label, 0.5]], ["routine"])
    english = table.localised("en")
    assert english.title == "Abandoned calls" and english.headers == ["When", "Share"]
    assert english.rows == [["Waiting for a secretary — Routine", 0.5]]
    assert english.row_for("routine") == english.rows[0] and english.row_for("*") is None
    assert english.csv() == "When,Share\r\nWaiting for a secretary — Routine,0.5\r\n"
    assert table.localised("fr").csv() == "Moment;Part\r\nEn attente d'une secrétaire — Courant;0,5\r\n"


@pytest.mark.unit
def test_threshold_fields_and_messages_in_english():
    fields = {f.name: f for f in threshold_fields("en")}
    fever = fields["high_fever_celsius"]
    assert fever.label == "High fever threshold (°C)"
    assert fever.description.endswith("above it, the call is treated as urgent.")
    assert fields["sla_seconds.urgent"].group.startswith("Pick-up deadlines")
    assert {c["label"] for c in fields["urgent_action"].choices} == {"Immediate transfer to a secretary",
                                                                    "Call-back request"}
    for field in fields.values():
        assert french_leftovers(f"<p>{field.label}</p><p>{field.description}</p>") == [], field.name
    assert threshold_fields()[1].label == "Seuil de fièvre élevée (°C)"  # French by default
    # Messages formatted by the domain layer are recognised by their pattern.
    assert tr("en", "doit être inférieur ou égal à 40.5") == "must be less than or equal to 40.5"
    assert tr("en", "la version 2 est « active » : seule une version « draft » peut être modifiée") == (
        "version 2 is “active”: only a draft can be edited")


# --- pages -------------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_thresholds_page_in_english_and_french(world: ConsoleWorld):
    practice = world.practice_ids[0]
    with client_as(world, "manager") as manager:
        draft = manager.post("/api/manager/thresholds/drafts",
                             json={"practice_id": practice, "values": {"high_fever_celsius": 39.5}}).json()
        manager.post(f"/api/manager/thresholds/{draft['id']}/activate", json={"reason": "Flu season"})
        manager.post("/api/manager/thresholds/drafts", json={"practice_id": practice, "values": {"max_silences": 3}})
        french = _ok(manager.get("/manager/thresholds", params={"practice_id": practice}))
        english = _ok(_english(manager).get("/manager/thresholds", params={"practice_id": practice}))
        group = _ok(manager.get("/manager/thresholds"))
    assert '<html lang="en">' in english
    for text in ("Escalation thresholds", "High fever threshold (°C)", "above it, the call is treated as urgent.",
                 "(from 38 to 40.5; default 39.0)", "In force: version 1, since", "Draft in progress: version 2.",
                 "Pick-up deadlines", "Run the simulation", "Evaluation set — draft", "Change log",
                 "Draft created", "Version activated", ">In force<", ">Draft<", "Value in force:", "Log out"):
        assert text in english, text
    assert french_leftovers(english, allowed=_names(world)) == []
    assert french_leftovers(group, allowed=_names(world)) == []
    assert "Group default settings" in group and "the built-in values apply" in group
    # French without the cookie: the same page as before.
    assert '<html lang="fr">' in french
    for text in ("Seuils d&#39;escalade", "Seuil de fièvre élevée (°C)", "(de 38 à 40.5 ; défaut 39.0)",
                 "En vigueur : version 1, depuis le", "Brouillon en cours : version 2.", "Brouillon créé"):
        assert text in french, text
    assert "Seuil de fièvre élevée (°C)" in french_leftovers(french)  # the check sees French


@pytest.mark.integration
def test_reports_page_in_english_selects_rows_by_key(world: ConsoleWorld):
    p0, p1 = world.practice_ids
    seed_week(world.engine, p0, p1)
    with client_as(world, "manager") as manager:
        french = _ok(manager.get("/manager/reports", params={"practice_id": p0, **WEEK}))
        english = _ok(_english(manager).get("/manager/reports", params={"practice_id": p0, **WEEK}))
        empty = _ok(manager.get("/manager/reports", params={"date_from": "2020-01-01", "date_to": "2020-01-31"}))
    for text in ("Reports", "When do people call?", "Calls by hour and day of the week", "<th scope=\"col\">Day</th>",
                 "<title>Monday 9:00–10:00: 2 call(s)</title>", ">Mon</text>", "All levels", "Routine",
                 "Waiting for a secretary — Urgent", "Before speaking to the agent", "Handed to a secretary",
                 "Appointments booked by the agent or by the front desk", ">Total<", "Front desk",
                 'id="kpi-containment">20.0%', 'id="kpi-waits">45.0 s / 111.0 s'):
        assert text in english, text
    assert french_leftovers(english, allowed=(*_names(world), *REASONS)) == []
    assert french_leftovers(empty, allowed=_names(world)) == [] and "No data for this period." in empty
    # French: the waits figure of every level is still found (by its key, not its label).
    assert 'id="kpi-waits">45,0 s / 111,0 s' in french and 'id="kpi-containment">20,0 %' in french
    assert "<title>Lundi 9 h – 10 h : 2 appel(s)</title>" in french and "Tous niveaux" in french


@pytest.mark.integration
def test_call_page_in_english(world: ConsoleWorld):
    p0 = world.practice_ids[0]
    call_id = "b" * 32
    record_calls(world.engine, [RecordedCall(call_id, p0, utc(2030, 3, 5, 10), (FEVER, "bonjour"),
                                             "redirected_on_call", "urgent")])
    with client_as(world, "manager") as manager:
        french = _ok(manager.get(f"/manager/calls/{call_id}"))
        english = _ok(_english(manager).get(f"/manager/calls/{call_id}"))
        missing = manager.get("/manager/calls/unknown")
    for text in ("Call on 2030-03-05 at 11:00", "Transcript", "Caller", "Level chosen by the agent",
                 "Urgent — no reason; status closed; outcome: redirected_on_call", "Handed to a secretary"):
        assert text in english, text
    assert french_leftovers(english, allowed=(*_names(world), *TURNS)) == []
    assert missing.status_code == 404 and missing.text == "Call not found."
    assert "Appel du 05/03/2030 à 11:00" in french and "Transcription" in french


# --- API ---------------------------------------------------------------------------------------------------


def _messages(detail: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in detail["errors"]}


@pytest.mark.integration
def test_thresholds_api_refusals_in_english(world: ConsoleWorld):
    practice = world.practice_ids[0]
    bad = {"high_fever_celsius": 45, "sla_seconds": {"emergency": 300, "urgent": 100}}
    with client_as(world, "manager") as manager:
        french = manager.post("/api/manager/thresholds/drafts", json={"practice_id": practice, "values": bad})
        _english(manager)
        refused = manager.post("/api/manager/thresholds/drafts", json={"practice_id": practice, "values": bad})
        replay = manager.post("/api/manager/thresholds/replay", json={"values": {"max_silences": "beaucoup"}})
        check = manager.post("/api/manager/thresholds/validate", json={"values": {"urgent_action": "wait"}}).json()
        period = manager.post("/api/manager/thresholds/replay", json={
            "values": {}, "date_from": "2030-03-05", "date_to": "2030-03-01"})
        draft = manager.post("/api/manager/thresholds/drafts", json={"practice_id": practice, "values": {}}).json()
        no_reason = manager.post(f"/api/manager/thresholds/{draft['id']}/activate", json={"reason": " "})
        missing = manager.post("/api/manager/thresholds/rollback",
                               json={"practice_id": practice, "to_version": 42, "reason": "test"})
        unknown = manager.get("/api/manager/thresholds", params={"practice_id": 999999})
        fields = manager.get("/api/manager/thresholds/fields").json()
    assert french.status_code == 422 and french.json()["detail"]["message"].startswith("Réglages refusés")
    assert _messages(french.json()["detail"])["high_fever_celsius"] == "doit être inférieur ou égal à 40.5"
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail["message"] == "Settings refused: please correct the fields marked."
    assert _messages(detail) == {"high_fever_celsius": "must be less than or equal to 40.5",
                                 "sla_seconds": "the deadlines must increase: emergency ≤ urgent ≤ routine"}
    assert _messages(replay.json()["detail"]) == {"max_silences": "must be a whole number"}
    assert check["valid"] is False
    assert check["errors"][0]["message"] == "value not allowed; allowed values: 'handoff', 'callback'"
    assert period.status_code == 422 and period.json()["detail"] == "The start date must come before the end date."
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"]["message"] == "Please say why you are making this change."
    assert _messages(no_reason.json()["detail"])["reason"].startswith("a reason is required")
    assert missing.status_code == 404 and missing.json()["detail"] == "version 42 not found for this practice"
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Practice not found."
    shown = [refused.json()["detail"]["message"], *_messages(detail).values(), check["errors"][0]["message"],
             *(f["label"] + " " + f["description"] for f in fields)]
    assert [text for text in shown if french_leftovers(text)] == []


@pytest.mark.integration
def test_reports_json_and_csv_export_in_english(world: ConsoleWorld):
    p0, p1 = world.practice_ids
    seed_week(world.engine, p0, p1)
    with client_as(world, "manager") as manager:
        french = _ok(manager.get("/api/manager/reports/waits.csv", params={"practice_id": p0, **WEEK}))
        _english(manager)
        waits = _ok(manager.get("/api/manager/reports/waits.csv", params={"practice_id": p0, **WEEK}))
        others = {name: _ok(manager.get(f"/api/manager/reports/{name}.csv", params={"practice_id": p0, **WEEK}))
                  for name in ("volume", "outcomes", "escalations", "abandoned", "callbacks", "appointments")}
        data = manager.get("/api/manager/reports", params={"practice_id": p0, **WEEK}).json()
        unknown = manager.get("/api/manager/reports/secrets.csv")
    assert waits.lstrip("\ufeff").splitlines() == [
        "Level,Tickets picked up,Average,p50,p95", "Emergency,1,20,20,20", "Urgent,1,60,60,60",
        "Routine,2,75,75,115.5", "All levels,4,57.5,45,111"]
    assert french.lstrip("\ufeff").splitlines()[-1] == "Tous niveaux;4;57,5;45;111"
    volume = list(csv.reader(io.StringIO(others["volume"].lstrip("\ufeff"))))
    assert volume[0][:3] == ["Day", "0h", "1h"] and volume[1][0] == "Monday" and volume[0][-1] == "Total"
    assert "Routine,3,1,1,1,0,0.3333" in others["callbacks"]
    assert "Dr Claire Martin,1,1,2,0.5,0" in others["appointments"]
    for name, text in others.items():
        rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
        assert french_leftovers("\n".join(f"<p>{c}</p>" for row in rows for c in row), allowed=REASONS) == [], name
    assert data["tables"]["waits"]["title"] == "Wait before pick-up (seconds)"
    assert data["tables"]["waits"]["rows"][-1] == ["All levels", 4, 57.5, 45.0, 111.0]
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Unknown table."
