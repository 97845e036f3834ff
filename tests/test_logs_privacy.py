"""Patient names, numbers, dates of birth and transcripts never reach the logs (all loggers at DEBUG, access log)."""

# The flow, over real HTTP: a call with a transcript is escalated; a secretary reads, claims and closes its ticket;
# an admin searches, exports and erases the patient and edits settings; requests fail on the way.

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session

from escalation.ticket_store import TicketSpec
from practice.models import Call, Patient, Practice, Turn
from tests.console_fixtures import ConsoleWorld, login, make_console
from tests.live_server import free_port
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

FIRST, LAST, BIRTH = "Géraldine", "Vasquez-Leclerc", date(1961, 7, 23)
PHONE, PHONE_E164 = "06 98 76 54 32", "+33698765432"
SYMPTOM = "une douleur qui serre dans la poitrine depuis ce matin"
# SQLAlchemy's SQL echo prints every statement's parameters by design; the engine keeps it off (echo=False), so
# it stays at the level the engine gave it. See test_sql_parameters_are_hidden_from_echo_and_errors.
SQL_ECHO = "sqlalchemy.engine"
SENSITIVE = (FIRST, LAST, "Vasquez", "Leclerc", "0698765432", PHONE_E164, "98 76 54 32", "698765432", "1961-07-23",
             "23/07/1961", SYMPTOM, "serre dans la poitrine", "rappeler sa fille")


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=1)
    yield w
    drop_prefix(shared_redis, w.keys)


@pytest.fixture
def base(world: ConsoleWorld) -> Iterator[str]:
    """A real uvicorn with its access log on, logging through the root logger (no config of its own)."""
    port = free_port()
    config = uvicorn.Config(world.app, host="127.0.0.1", port=port, log_config=None, log_level="debug",
                            access_log=True, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    world.app.state.queue_events.close()
    server.should_exit = True
    thread.join(10)


def escalated_call(world: ConsoleWorld) -> tuple[str, int]:
    """What the agent leaves behind: the patient, the call, its transcript, and the ticket in the queue."""
    call_id = uuid.uuid4().hex
    with Session(world.engine) as session:
        patient = Patient(first_name=FIRST, last_name=LAST, birth_date=BIRTH, phone=PHONE)
        session.add(patient)
        session.flush()
        session.add(Call(id=call_id, practice_id=world.practice_ids[0], caller_number=PHONE_E164,
                         patient_id=patient.id, triage_level="urgent", escalated=True))
        session.flush()
        session.add(Turn(call_id=call_id, seq=1, speaker="caller", text=f"Bonjour, {FIRST} {LAST}, j'ai {SYMPTOM}",
                         triage={"level": "urgent", "rules": [{"id": "chest_pain", "evidence": SYMPTOM}]}))
        session.commit()
        assert patient.id is not None
        patient_id = patient.id
    world.queue.enqueue(TicketSpec(id=call_id, practice_id=world.practice_ids[0], level="urgent",
                                   reason=f"{FIRST} {LAST} : douleur thoracique", caller_number=PHONE_E164,
                                   summary={"who": f"{FIRST} {LAST}, née le 23/07/1961", "why": SYMPTOM}))
    return call_id, patient_id


def secretary_flow(world: ConsoleWorld, base: str, call_id: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as sec:
        login(sec, world.username("sec0"))
        assert sec.get("/api/queue").status_code == 200
        assert sec.get(f"/api/tickets/{call_id}").status_code == 200
        assert sec.post(f"/api/tickets/{call_id}/claim").status_code == 200
        note = {"disposition": "resolved", "note": f"{FIRST} {LAST} ({PHONE}) : rappeler sa fille"}
        assert sec.post(f"/api/tickets/{call_id}/close", json=note).status_code == 200
        assert sec.post(f"/api/tickets/{call_id}/release").status_code == 409  # closed: an error
        assert sec.post("/api/tickets/not-a-ticket/claim").status_code == 404
        bad = sec.post(f"/api/tickets/{call_id}/close", json={"disposition": LAST, "note": SYMPTOM})
        assert bad.status_code == 422


def admin_flow(world: ConsoleWorld, base: str, patient_id: int) -> None:
    with httpx.Client(base_url=base, timeout=10) as admin:
        login(admin, world.username("admin"))
        for criteria in ({"phone": PHONE}, {"name": LAST}, {"birth_date": BIRTH.isoformat()}):
            assert admin.post("/api/admin/patients/search", json=criteria).json()[0]["id"] == patient_id
        token = admin.headers["X-CSRF-Token"]
        assert admin.post("/admin/patients", data={"csrf_token": token, "name": LAST}).status_code == 200
        assert admin.get(f"/api/admin/patients/{patient_id}/export").status_code == 200
        pid = world.practice_ids[0]
        assert admin.patch(f"/api/admin/practices/{pid}", json={"access_info": "Bus 12"}).status_code == 200
        refused = admin.post(f"/api/admin/practices/{pid}/practitioners", json={
            "first_name": FIRST, "last_name": LAST, "profession": "x", "languages": [PHONE]})
        assert refused.status_code == 422
        assert admin.post("/api/admin/users", json={"username": "bad name", "password": PHONE}).status_code == 422
        assert admin.post("/login", data={"username": LAST, "password": PHONE, "csrf_token": token}).status_code == 401
        assert admin.post(f"/api/admin/patients/{patient_id}/erase", json={"confirm": "non"}).status_code == 422
        assert admin.post(f"/api/admin/patients/{patient_id}/erase", json={"confirm": "EFFACER"}).status_code == 200


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every logger at DEBUG (but the SQL echo), restored afterwards."""
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagating to it, uvicorn's included
    names = [n for n in logging.root.manager.loggerDict if n != "sqlalchemy" and not n.startswith(SQL_ECHO)]
    saved = {n: logging.getLogger(n).level for n in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("everything_at_debug")
def test_no_patient_data_in_any_log(world: ConsoleWorld, base: str, caplog: pytest.LogCaptureFixture):
    call_id, patient_id = escalated_call(world)
    secretary_flow(world, base, call_id)
    admin_flow(world, base, patient_id)
    assert any(r.name == "uvicorn.access" for r in caplog.records), "the access log was not captured"
    assert len(caplog.records) > 20
    leaks = sorted({(r.name, s) for r in caplog.records for s in SENSITIVE if s.lower() in _full(r).lower()})
    assert leaks == [], f"patient data in the logs (logger, text): {leaks}"


def _full(record: logging.LogRecord) -> str:
    """Everything a log handler could write: the message, its arguments, the extras and any traceback."""
    extras = {k: v for k, v in vars(record).items() if k not in logging.LogRecord("", 0, "", 0, "", (), None).__dict__}
    parts = [record.getMessage(), repr(record.args), repr(extras)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return " ".join(parts)


def test_sql_echo_is_off(world: ConsoleWorld):
    assert not logging.getLogger(SQL_ECHO).isEnabledFor(logging.INFO)
    assert world.engine.echo is False


def test_sql_parameters_are_hidden_from_echo_and_errors(world: ConsoleWorld):
    assert world.engine.hide_parameters is True
    slug = f"dup-{uuid.uuid4().hex[:8]}"
    with Session(world.engine) as session:
        session.add(Practice(name="Cabinet A", slug=slug))
        session.commit()
        session.add(Practice(name="Cabinet Jeanne Rousseau 0612345678", slug=slug))
        with pytest.raises(sa.exc.IntegrityError) as caught:
            session.commit()
    assert "Jeanne Rousseau" not in str(caught.value) and "0612345678" not in str(caught.value)
