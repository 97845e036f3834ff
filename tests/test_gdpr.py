"""GDPR on SQLite and PostgreSQL: audit log export, a patient's export and erasure, retention purge on a fixed clock."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select
from typer.testing import CliRunner

from console.cli import app as cli
from practice.models import (
    Appointment,
    AuditLog,
    Call,
    Patient,
    Practitioner,
    RetentionPolicy,
    Ticket,
    TicketEvent,
    Turn,
)
from practice.retention import RetentionDays, purge
from tests.admin_fixtures import login_client
from tests.console_fixtures import ConsoleWorld, make_console
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SENSITIVE = ("Dupont", "Jeanne", "0612345678", "+33612345678", "06 12 34 56 78", "1956-03-12", "12/03/1956",
             "mal au ventre depuis trois jours")


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=1)
    yield w
    drop_prefix(shared_redis, w.keys)


@pytest.fixture
def admin(world: ConsoleWorld) -> Iterator[TestClient]:
    with TestClient(world.app, follow_redirects=False) as c:
        login_client(c, world.username("admin"))
        yield c


@dataclass
class Seeded:
    patient_id: int
    other_id: int
    call_ids: list[str]


def add_call(session: Session, practice_id: int, started: datetime, *, patient_id: int | None = None,
             caller: str = "+33699999999", text: str = "Je voudrais un rendez-vous") -> str:
    call = Call(practice_id=practice_id, caller_number=caller, patient_id=patient_id, started_at=started,
                escalated=True)
    session.add(call)
    session.flush()
    session.add(Turn(call_id=call.id, seq=1, speaker="caller", text=text, at=started,
                     triage={"level": "routine", "rules": [{"id": "x", "evidence": text}]}))
    session.add(Ticket(id=call.id, practice_id=practice_id, reason="Rappel demandé", caller_number=caller,
                       summary={"who": text, "why": text}, created_at=started))
    session.flush()
    session.add(TicketEvent(ticket_id=call.id, status="closed", at=started, detail={"disposition": "resolved",
                                                                                     "note": text}))
    return call.id


def seed_patient(world: ConsoleWorld) -> Seeded:
    pid = world.practice_ids[0]
    with Session(world.engine, expire_on_commit=False) as session:
        doc = Practitioner(practice_id=pid, first_name="Luc", last_name="Bernard", profession="médecin")
        jeanne = Patient(first_name="Jeanne", last_name="Dupont", birth_date=date(1956, 3, 12), phone="0612345678")
        other = Patient(first_name="Marc", last_name="Lefèvre", birth_date=date(1980, 1, 2), phone="0700000000")
        session.add_all([doc, jeanne, other])
        session.flush()
        assert doc.id and jeanne.id and other.id
        for patient, day in ((jeanne, 3), (other, 4)):
            session.add(Appointment(practitioner_id=doc.id, patient_id=patient.id or 0, practice_id=pid,
                                    starts_at=datetime(2026, 6, day, 9), ends_at=datetime(2026, 6, day, 9, 20),
                                    reason="Jeanne Dupont : mal au ventre depuis trois jours" if patient is jeanne
                                    else "Contrôle"))
        linked = add_call(session, pid, NOW - timedelta(days=2), patient_id=jeanne.id, caller="+33612345678",
                          text="Bonjour, Jeanne Dupont, j'ai mal au ventre depuis trois jours")
        by_number = add_call(session, pid, NOW - timedelta(days=1), caller="06 12 34 56 78",
                             text="C'est encore Jeanne Dupont, née le 12/03/1956")
        add_call(session, pid, NOW - timedelta(days=1), patient_id=other.id, caller="0700000000",
                 text="Marc Lefèvre pour un contrôle")
        session.add(AuditLog(actor="sec0", practice_id=pid, action="close", entity="ticket", entity_id=linked,
                             detail={"disposition": "resolved", "note": "Jeanne Dupont rappelée"}))
        session.commit()
        return Seeded(jeanne.id, other.id, [linked, by_number])


def database_text(engine: Engine) -> str:
    """Every row of every table, as text: what an attacker with the database would read."""
    parts = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            parts += [" | ".join(str(v) for v in row) for row in conn.execute(sa.select(table))]
    return "\n".join(parts)


# --- a patient's rights ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("criteria", [{"phone": "+33 6 12 34 56 78"}, {"name": "dupont"}, {"name": "JEANNE"},
                                      {"birth_date": "1956-03-12"}, {"phone": "06.12.34.56.78", "name": "Dupont"}])
def test_find_a_patient(world: ConsoleWorld, admin: TestClient, criteria: dict[str, str]):
    seeded = seed_patient(world)
    found = admin.post("/api/admin/patients/search", json=criteria)
    assert found.status_code == 200, found.text
    assert [p["id"] for p in found.json()] == [seeded.patient_id]
    with Session(world.engine) as session:
        row = session.exec(select(AuditLog).where(AuditLog.entity == "patient", AuditLog.action == "search")).one()
    assert not any(s in json.dumps(row.detail) for s in SENSITIVE)


def test_search_needs_a_criterion(world: ConsoleWorld, admin: TestClient):
    assert admin.post("/api/admin/patients/search", json={}).status_code == 422


def test_export_has_everything_about_the_patient_and_nothing_else(world: ConsoleWorld, admin: TestClient):
    seeded = seed_patient(world)
    answer = admin.get(f"/api/admin/patients/{seeded.patient_id}/export")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    data = answer.json()
    assert data["patient"]["last_name"] == "Dupont" and data["patient"]["birth_date"] == "1956-03-12"
    assert [a["reason"] for a in data["appointments"]] == ["Jeanne Dupont : mal au ventre depuis trois jours"]
    assert sorted(c["id"] for c in data["calls"]) == sorted(seeded.call_ids)  # by patient link and by number
    assert len(data["turns"]) == 2 and len(data["tickets"]) == 2
    assert "Lefèvre" not in answer.text
    with Session(world.engine) as session:
        audit = session.exec(select(AuditLog).where(AuditLog.action == "export", AuditLog.entity == "patient")).one()
    assert audit.entity_id == str(seeded.patient_id) and audit.actor == world.username("admin")
    assert admin.get("/api/admin/patients/999999/export").status_code == 404


def test_erasure_needs_the_confirmation(world: ConsoleWorld, admin: TestClient):
    seeded = seed_patient(world)
    refused = admin.post(f"/api/admin/patients/{seeded.patient_id}/erase", json={"confirm": "oui"})
    assert refused.status_code == 422 and "EFFACER" in refused.json()["detail"]
    assert "Dupont" in database_text(world.engine)


def test_erasure_leaves_nothing_identifying(world: ConsoleWorld, admin: TestClient):
    seeded = seed_patient(world)
    answer = admin.post(f"/api/admin/patients/{seeded.patient_id}/erase", json={"confirm": "EFFACER"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["erased"] == {"appointments": 1, "calls": 2, "turns": 2, "tickets": 2, "ticket_events": 2,
                                       "audit_notes": 1, "call_reviews": 0}
    everything = database_text(world.engine)
    for secret in SENSITIVE:
        assert secret not in everything, secret
    assert "Lefèvre" in everything and "Marc Lefèvre pour un contrôle" in everything  # the other patient is intact
    with Session(world.engine) as session:
        appointments = list(session.exec(select(Appointment).where(Appointment.patient_id == seeded.patient_id)))
        assert len(appointments) == 1  # kept for statistics, anonymised
        audit = session.exec(select(AuditLog).where(AuditLog.action == "erase")).one()
    assert audit.entity_id == str(seeded.patient_id) and audit.detail["counts"]["calls"] == 2
    again = admin.post(f"/api/admin/patients/{seeded.patient_id}/erase", json={"confirm": "EFFACER"})
    assert again.status_code == 200 and again.json()["erased"]["calls"] == 0


def test_erasure_from_the_page(world: ConsoleWorld, admin: TestClient):
    seeded = seed_patient(world)
    token = admin.headers["X-CSRF-Token"]
    page = admin.post("/admin/patients", data={"csrf_token": token, "name": "Dupont", "phone": "", "birth_date": ""})
    assert page.status_code == 200 and "Exporter toutes ses données" in page.text
    wrong = admin.post(f"/admin/patients/{seeded.patient_id}/erase", data={"csrf_token": token, "confirm": "effacer"})
    assert wrong.status_code == 422 and "non confirmé" in wrong.text
    done = admin.post(f"/admin/patients/{seeded.patient_id}/erase", data={"csrf_token": token, "confirm": "EFFACER"})
    assert done.status_code == 303
    assert "Dupont" not in database_text(world.engine)


# --- audit log ----------------------------------------------------------------------------------------------


def test_audit_log_filters_and_exports(world: ConsoleWorld, admin: TestClient):
    pid = world.practice_ids[0]
    assert admin.patch(f"/api/admin/practices/{pid}", json={"city": "Lyon"}).status_code == 200
    assert admin.patch(f"/api/admin/practices/{world.practice_ids[1]}", json={"city": "Metz"}).status_code == 200
    rows = admin.get("/api/admin/audit", params={"entity": "practice", "practice_id": pid}).json()
    assert [(r["action"], r["entity_id"]) for r in rows] == [("update", str(pid))]
    assert rows[0]["detail"]["after"]["city"] == "Lyon"
    exported = admin.get("/api/admin/audit/export", params={"format": "csv", "entity": "practice"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["entity_id"] for r in table} == {str(pid), str(world.practice_ids[1])}
    as_json = admin.get("/api/admin/audit/export", params={"format": "json", "actor": world.username("admin"),
                                                           "entity": "practice"}).json()
    assert len(as_json) == 2
    today = datetime.now(UTC).date()
    assert admin.get("/api/admin/audit", params={"until": str(today - timedelta(days=1))}).json() == []
    page = admin.get("/admin/audit", params={"entity": "practice", "practice_id": "", "since": ""})
    assert page.status_code == 200 and "Exporter en CSV" in page.text
    exports = admin.get("/api/admin/audit", params={"entity": "audit_log", "action": "export"}).json()
    assert len(exports) == 2  # exporting the log is itself logged


def test_ticket_views_are_in_the_audit_log(world: ConsoleWorld, admin: TestClient):
    ticket = world.enqueue(0, reason="Fièvre")
    with TestClient(world.app, follow_redirects=False) as sec:
        login_client(sec, world.username("sec0"))
        assert sec.get(f"/api/tickets/{ticket}").status_code == 200
    rows = admin.get("/api/admin/audit", params={"entity": "ticket", "entity_id": ticket}).json()
    assert [(r["action"], r["actor"]) for r in rows] == [("view", world.username("sec0"))]


# --- retention ----------------------------------------------------------------------------------------------


def test_retention_settings_are_validated_and_audited(world: ConsoleWorld, admin: TestClient):
    pid = world.practice_ids[0]
    assert admin.get(f"/api/admin/practices/{pid}/retention").json()["is_default"] is True
    bad = admin.put(f"/api/admin/practices/{pid}/retention", json={
        "audio_days": 30, "transcript_days": 400, "summary_days": 365, "metadata_days": 365})
    assert bad.status_code == 422 and "métadonnées" in bad.text
    zero = admin.put(f"/api/admin/practices/{pid}/retention", json={
        "audio_days": 0, "transcript_days": 90, "summary_days": 365, "metadata_days": 1095})
    assert zero.status_code == 422
    good = admin.put(f"/api/admin/practices/{pid}/retention", json={
        "audio_days": 7, "transcript_days": 30, "summary_days": 180, "metadata_days": 730})
    assert good.status_code == 200 and good.json()["is_default"] is False
    row = admin.get("/api/admin/audit", params={"entity": "retention"}).json()[0]
    assert row["detail"]["before"]["transcript_days"] == 90 and row["detail"]["after"]["transcript_days"] == 30


def test_retention_defaults_are_coherent():
    assert RetentionDays().problems() == []
    assert RetentionDays(transcript_days=5000).problems()


def aged_calls(world: ConsoleWorld) -> dict[str, str]:
    pid, other = world.practice_ids
    with Session(world.engine) as session:
        ids = {
            "fresh": add_call(session, pid, NOW - timedelta(days=10)),
            "transcript_expired": add_call(session, pid, NOW - timedelta(days=100)),
            "summary_expired": add_call(session, pid, NOW - timedelta(days=400)),
            "all_expired": add_call(session, pid, NOW - timedelta(days=1200)),
            "other_practice_20d": add_call(session, other, NOW - timedelta(days=20)),
        }
        session.add(RetentionPolicy(practice_id=other, audio_days=5, transcript_days=15, summary_days=15,
                                    metadata_days=400))
        session.commit()
    return ids


def state(world: ConsoleWorld, call_id: str) -> tuple[bool, bool, bool]:
    """(call exists, transcript kept, summary kept)."""
    with Session(world.engine) as session:
        call = session.get(Call, call_id)
        turns = list(session.exec(select(Turn).where(Turn.call_id == call_id)))
        ticket = session.get(Ticket, call_id)
        return (call is not None, any(t.text for t in turns), bool(ticket and ticket.summary))


def test_purge_by_age_with_a_fixed_clock(world: ConsoleWorld, tmp_path: Path):
    ids = aged_calls(world)
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for name in ("fresh", "transcript_expired", "other_practice_20d"):
        (recordings / f"{ids[name]}.wav").write_bytes(b"RIFF")
    (recordings / "0123456789abcdef0123456789abcdef.wav").write_bytes(b"RIFF")  # its call is long gone
    before = database_text(world.engine)

    dry = purge(world.engine, now=NOW, dry_run=True, recordings_dir=recordings)
    assert (dry.total.transcripts, dry.total.summaries, dry.total.calls, dry.total.audio_files) == (4, 3, 1, 3)
    assert database_text(world.engine) == before and len(list(recordings.iterdir())) == 4

    done = purge(world.engine, now=NOW, batch_size=1, recordings_dir=recordings)
    assert done.total == dry.total
    assert state(world, ids["fresh"]) == (True, True, True)
    assert state(world, ids["transcript_expired"]) == (True, False, True)
    assert state(world, ids["summary_expired"]) == (True, False, False)
    assert state(world, ids["all_expired"]) == (False, False, False)
    assert state(world, ids["other_practice_20d"]) == (True, False, False)  # its own, shorter policy
    assert sorted(p.stem for p in recordings.iterdir()) == [ids["fresh"]]
    with Session(world.engine) as session:
        notes = {e.ticket_id: e.detail for e in session.exec(select(TicketEvent))}
    assert notes[ids["summary_expired"]] == {"disposition": "resolved", "note": ""}  # the free note went too
    assert notes[ids["transcript_expired"]]["note"] == "Je voudrais un rendez-vous"
    with Session(world.engine) as session:
        events = list(session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ids["all_expired"])))
        audit = session.exec(select(AuditLog).where(AuditLog.action == "purge")).one()
    assert events == []
    assert audit.detail["total"] == {"transcripts": 4, "summaries": 3, "calls": 1, "audio_files": 3}

    again = purge(world.engine, now=NOW, recordings_dir=recordings)
    assert (again.total.transcripts, again.total.summaries, again.total.calls, again.total.audio_files) == (0, 0, 0, 0)


def test_purge_keeps_appointments_booked_during_a_deleted_call(world: ConsoleWorld):
    seeded = seed_patient(world)
    with Session(world.engine) as session:
        appointment = session.exec(select(Appointment).where(Appointment.patient_id == seeded.patient_id)).one()
        appointment.call_id = seeded.call_ids[0]
        session.add(appointment)
        session.commit()
    purge(world.engine, now=NOW + timedelta(days=5000))
    with Session(world.engine) as session:
        kept = session.exec(select(Appointment).where(Appointment.patient_id == seeded.patient_id)).one()
        assert kept.call_id is None
        assert list(session.exec(select(Call.id).where(col(Call.id).in_(seeded.call_ids)))) == []


def test_purge_from_the_api_and_the_command_line(world: ConsoleWorld, admin: TestClient,
                                                  monkeypatch: pytest.MonkeyPatch):
    aged_calls(world)
    dry = admin.post("/api/admin/retention/purge", json={"dry_run": True})
    assert dry.status_code == 200 and dry.json()["total"]["calls"] == 1
    url = world.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PERMANENCE_DATA_DIR", str(world.engine.url.database or "/tmp") + "-data")
    result = CliRunner().invoke(cli, ["purge", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"]["calls"] == 1
    result = CliRunner().invoke(cli, ["purge"])
    assert result.exit_code == 0 and "appels : 1" in result.output
    assert admin.post("/api/admin/retention/purge", json={"dry_run": True}).json()["total"]["calls"] == 0


def test_the_server_purges_in_the_background(world: ConsoleWorld):
    from practice.retention import RetentionScheduler

    aged_calls(world)
    scheduler = RetentionScheduler(world.engine, interval_s=3600, first_delay_s=0.01)
    scheduler.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while datetime.now(UTC) < deadline:
            with Session(world.engine) as session:
                if session.exec(select(AuditLog).where(AuditLog.action == "purge")).first() is not None:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("no purge ran")
    finally:
        scheduler.stop()
    assert scheduler.run_once() is not None  # idempotent: a second round finds nothing and does not fail
