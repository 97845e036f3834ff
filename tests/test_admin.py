"""Administration API on SQLite and PostgreSQL: CRUD, validation messages, tenancy and audit rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from practice.models import AuditLog, OpeningHours, User
from practice.passwords import verify_password
from tests.admin_fixtures import login_client
from tests.console_fixtures import ConsoleWorld, make_console
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=2)
    yield w
    drop_prefix(shared_redis, w.keys)


def client(world: ConsoleWorld, short: str) -> TestClient:
    c = TestClient(world.app, follow_redirects=False)
    login_client(c, world.username(short))
    return c


@pytest.fixture
def admin(world: ConsoleWorld) -> Iterator[TestClient]:
    with client(world, "admin") as c:
        yield c


@pytest.fixture
def manager(world: ConsoleWorld) -> Iterator[TestClient]:
    with client(world, "manager") as c:
        yield c


def audit_rows(world: ConsoleWorld, entity: str) -> list[AuditLog]:
    with Session(world.engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.entity == entity).order_by(col(AuditLog.id))))


def messages(answer: Any) -> str:
    return " ".join(str(e.get("msg", "")) for e in answer.json()["detail"])


NEW_PRACTICE = {"name": "Cabinet du Parc", "slug": "cabinet-du-parc", "postcode": "57000", "city": "Metz",
                "holiday_country": "FR", "holiday_subdivision": "57",
                "after_hours_policy": {"sos_medecins": "3624", "emergency_stays_on_line": True}}


def test_admin_creates_and_edits_a_practice_with_audit(world: ConsoleWorld, admin: TestClient):
    created = admin.post("/api/admin/practices", json=NEW_PRACTICE)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert created.json()["after_hours_policy"]["emergency_number"] == "15"
    changed = admin.patch(f"/api/admin/practices/{pid}", json={"access_info": "Bus 4", "recording_enabled": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["access_info"] == "Bus 4" and changed.json()["recording_enabled"] is True
    rows = audit_rows(world, "practice")
    assert [r.action for r in rows] == ["create", "update"]
    assert rows[1].detail["before"]["access_info"] == "" and rows[1].detail["after"]["access_info"] == "Bus 4"
    assert rows[1].actor == world.username("admin") and rows[1].practice_id == pid


@pytest.mark.parametrize(("patch", "fragment"), [
    ({"timezone": "Mars/Olympus"}, "fuseau horaire inconnu"),
    ({"holiday_country": "ZZ"}, "pays inconnu"),
    ({"postcode": "75"}, "pattern"),
    ({"name": ""}, "at least 1"),
    ({"after_hours_policy": {"emergency_number": "abc"}}, "pattern"),
    ({"unknown_field": 1}, "Extra inputs"),
])
def test_bad_practice_values_are_refused_with_a_message(world: ConsoleWorld, admin: TestClient, patch: dict[str, Any],
                                                        fragment: str):
    answer = admin.patch(f"/api/admin/practices/{world.practice_ids[0]}", json=patch)
    assert answer.status_code == 422
    assert fragment in messages(answer)


def test_unknown_subdivision_is_refused(world: ConsoleWorld, admin: TestClient):
    answer = admin.patch(f"/api/admin/practices/{world.practice_ids[0]}", json={"holiday_subdivision": "99"})
    assert answer.status_code == 422
    assert "subdivision" in answer.json()["detail"]


def test_opening_hours_with_a_lunch_break(world: ConsoleWorld, manager: TestClient):
    pid = world.practice_ids[0]
    week = {"windows": [{"weekday": 0, "opens": "08:00", "closes": "12:00"},
                        {"weekday": 0, "opens": "14:00", "closes": "19:00"}]}
    answer = manager.put(f"/api/admin/practices/{pid}/opening-hours", json=week)
    assert answer.status_code == 200, answer.text
    assert len(manager.get(f"/api/admin/practices/{pid}/opening-hours").json()) == 2
    with Session(world.engine) as session:
        assert len(list(session.exec(select(OpeningHours).where(OpeningHours.practice_id == pid)))) == 2
    assert audit_rows(world, "opening_hours")[-1].detail["after"][1]["opens"] == "14:00:00"


@pytest.mark.parametrize(("windows", "fragment"), [
    ([{"weekday": 0, "opens": "12:00", "closes": "08:00"}], "doit suivre"),
    ([{"weekday": 0, "opens": "08:00", "closes": "12:00"}, {"weekday": 0, "opens": "11:00", "closes": "13:00"}],
     "chevauchent"),
    ([{"weekday": 7, "opens": "08:00", "closes": "12:00"}], "less than or equal to 6"),
])
def test_bad_opening_hours_are_refused(world: ConsoleWorld, admin: TestClient, windows: list[Any], fragment: str):
    answer = admin.put(f"/api/admin/practices/{world.practice_ids[0]}/opening-hours", json={"windows": windows})
    assert answer.status_code == 422
    assert fragment in messages(answer)


def test_closures_practitioners_types_availability_exceptions(world: ConsoleWorld, manager: TestClient):
    pid = world.practice_ids[0]
    closure = manager.post(f"/api/admin/practices/{pid}/closures", json={"day": "2026-12-24", "reason": "Pont"})
    assert closure.status_code == 201, closure.text
    assert manager.delete(f"/api/admin/closures/{closure.json()['id']}").status_code == 204
    doc = manager.post(f"/api/admin/practices/{pid}/practitioners", json={
        "first_name": "Claire", "last_name": "Martin", "profession": "médecin généraliste", "languages": ["fr", "en"]})
    assert doc.status_code == 201, doc.text
    did = doc.json()["id"]
    visit = manager.post(f"/api/admin/practitioners/{did}/consultation-types",
                         json={"name": "Consultation", "duration_minutes": 20, "is_default": True})
    assert visit.status_code == 201
    assert manager.put(f"/api/admin/consultation-types/{visit.json()['id']}",
                       json={"name": "Consultation", "duration_minutes": 30}).json()["duration_minutes"] == 30
    rules = {"rules": [{"weekday": 1, "starts": "09:00", "ends": "12:00", "slot_minutes": 15}]}
    assert manager.put(f"/api/admin/practitioners/{did}/availability", json=rules).status_code == 200
    absence = manager.post(f"/api/admin/practitioners/{did}/exceptions", json={
        "starts_at": "2026-12-26T00:00:00", "ends_at": "2027-01-02T00:00:00", "reason": "Congés"})
    assert absence.status_code == 201, absence.text
    assert manager.patch(f"/api/admin/practitioners/{did}", json={"active": False}).json()["active"] is False
    assert manager.delete(f"/api/admin/exceptions/{absence.json()['id']}").status_code == 204
    assert manager.delete(f"/api/admin/consultation-types/{visit.json()['id']}").status_code == 204
    entities = {r.entity for r in audit_rows(world, "practitioner") + audit_rows(world, "availability")
                + audit_rows(world, "availability_exception") + audit_rows(world, "consultation_type")
                + audit_rows(world, "closure")}
    assert entities == {"practitioner", "availability", "availability_exception", "consultation_type", "closure"}


@pytest.mark.parametrize(("body", "fragment"), [
    ({"first_name": "A", "last_name": "B", "profession": "x", "languages": ["français"]}, "pattern"),
    ({"first_name": "", "last_name": "B", "profession": "x"}, "at least 1"),
    ({"last_name": "B", "profession": "x"}, "Field required"),
])
def test_bad_practitioner_is_refused(world: ConsoleWorld, admin: TestClient, body: dict[str, Any], fragment: str):
    answer = admin.post(f"/api/admin/practices/{world.practice_ids[0]}/practitioners", json=body)
    assert answer.status_code == 422 and fragment in messages(answer)


def test_exception_and_type_validation(world: ConsoleWorld, admin: TestClient):
    doc = admin.post(f"/api/admin/practices/{world.practice_ids[0]}/practitioners",
                     json={"first_name": "Paul", "last_name": "Roux", "profession": "kiné"}).json()
    backwards = admin.post(f"/api/admin/practitioners/{doc['id']}/exceptions",
                           json={"starts_at": "2026-12-26T10:00:00", "ends_at": "2026-12-26T09:00:00"})
    assert backwards.status_code == 422 and "doit suivre" in messages(backwards)
    too_long = admin.post(f"/api/admin/practitioners/{doc['id']}/consultation-types",
                          json={"name": "Bilan", "duration_minutes": 600})
    assert too_long.status_code == 422 and "less than or equal to 240" in messages(too_long)


def test_users_create_reset_disable_and_last_admin(world: ConsoleWorld, admin: TestClient):
    body = {"username": "nadia", "full_name": "Nadia B.", "role": "secretary", "password": "un mot de passe long",
            "skills": ["pediatrics"], "languages": ["fr", "ar"], "practice_ids": [world.practice_ids[1]]}
    created = admin.post("/api/admin/users", json=body)
    assert created.status_code == 201, created.text
    uid = created.json()["id"]
    assert created.json()["practice_ids"] == [world.practice_ids[1]]
    assert "password" not in created.text
    assert admin.post("/api/admin/users", json=body).status_code == 409
    assert admin.post(f"/api/admin/users/{uid}/password", json={"password": "court"}).status_code == 422
    assert admin.post(f"/api/admin/users/{uid}/password", json={"password": "encore plus long"}).status_code == 204
    with Session(world.engine) as session:
        stored = session.get(User, uid)
        assert stored is not None and verify_password(stored.password_hash, "encore plus long")
        assert "encore plus long" not in stored.password_hash
    assert admin.patch(f"/api/admin/users/{uid}", json={"active": False}).json()["active"] is False
    last = admin.patch(f"/api/admin/users/{world.users['admin']}", json={"role": "manager"})
    assert last.status_code == 409 and "dernier administrateur" in last.json()["detail"]
    assert admin.patch(f"/api/admin/users/{world.users['admin']}", json={"active": False}).status_code == 409
    rows = audit_rows(world, "user")
    assert [r.action for r in rows] == ["create", "reset_password", "update"]
    assert all("password_hash" not in str(r.detail) for r in rows)


def test_unknown_practice_in_user_is_refused(world: ConsoleWorld, admin: TestClient):
    answer = admin.post("/api/admin/users", json={"username": "zoe", "password": "0123456789ab",
                                                   "practice_ids": [999999]})
    assert answer.status_code == 422 and "inconnu" in answer.json()["detail"]


def test_manager_may_not_manage_users_or_create_practices(world: ConsoleWorld, manager: TestClient):
    assert manager.get("/api/admin/users").status_code == 403
    assert manager.post("/api/admin/practices", json=NEW_PRACTICE).status_code == 403


def test_secretary_has_no_administration(world: ConsoleWorld):
    with client(world, "sec0") as sec:
        assert sec.get("/api/admin/practices").status_code == 403
        assert sec.get("/admin").status_code == 403


def test_changes_without_csrf_are_refused(world: ConsoleWorld, admin: TestClient):
    del admin.headers["X-CSRF-Token"]
    answer = admin.patch(f"/api/admin/practices/{world.practice_ids[0]}", json={"city": "Nancy"})
    assert answer.status_code == 403 and "CSRF" in answer.json()["detail"]
    assert audit_rows(world, "practice") == []


# --- the French pages ----------------------------------------------------------------------------------------


def form(c: TestClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": c.headers["X-CSRF-Token"], **fields}


def test_pages_need_a_login_and_the_right_role(world: ConsoleWorld):
    with TestClient(world.app, follow_redirects=False) as anonymous:
        answer = anonymous.get("/admin/practices/1")
        assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/admin/practices/1"
    with client(world, "manager") as manager:
        assert manager.get("/admin").status_code == 200
        assert manager.get("/admin/users").status_code == 403
        assert manager.get("/admin/patients").status_code == 403


def test_hours_form_with_a_lunch_break(world: ConsoleWorld, admin: TestClient):
    pid = world.practice_ids[0]
    page = admin.get(f"/admin/practices/{pid}")
    assert page.status_code == 200 and "Horaires d&#39;ouverture" in page.text
    saved = admin.post(f"/admin/practices/{pid}/hours",
                       data=form(admin, day0="08:00-12:30, 14h00-19h00", day5="9:00-12:00"))
    assert saved.status_code == 303, saved.text
    assert "08:00-12:30, 14:00-19:00" in admin.get(saved.headers["location"]).text
    with Session(world.engine) as session:
        assert len(list(session.exec(select(OpeningHours).where(OpeningHours.practice_id == pid)))) == 3


@pytest.mark.parametrize(("day0", "fragment"), [
    ("8h-12h", "n&#39;est pas une plage"), ("12:00-08:00", "doit suivre"), ("08:00-12:00, 11:00-13:00", "chevauchent"),
    ("25:00-26:00", "heure impossible")])
def test_bad_hours_form_is_refused_in_french(world: ConsoleWorld, admin: TestClient, day0: str, fragment: str):
    answer = admin.post(f"/admin/practices/{world.practice_ids[0]}/hours", data=form(admin, day0=day0))
    assert answer.status_code == 422 and fragment in answer.text


def test_practitioner_form_and_page(world: ConsoleWorld, admin: TestClient):
    pid = world.practice_ids[0]
    added = admin.post(f"/admin/practices/{pid}/practitioners", data=form(
        admin, title="Dr", first_name="Inès", last_name="Garnier", profession="pédiatre", languages="fr, en",
        active="on"))
    assert added.status_code == 303, added.text
    assert "Garnier" in admin.get(f"/admin/practices/{pid}").text
    empty = admin.post(f"/admin/practices/{pid}/practitioners", data=form(admin, first_name="", last_name="X",
                                                                           profession="y"))
    assert empty.status_code == 422 and "first_name : trop court" in empty.text


def test_forms_without_csrf_are_refused(world: ConsoleWorld, admin: TestClient):
    del admin.headers["X-CSRF-Token"]
    answer = admin.post(f"/admin/practices/{world.practice_ids[0]}/hours", data={"day0": "08:00-12:00"})
    assert answer.status_code == 403


def test_user_forms(world: ConsoleWorld, admin: TestClient):
    created = admin.post("/admin/users", data=form(admin, username="lea", full_name="Léa", role="secretary",
                                                   password="mot de passe solide",
                                                   practice_ids=str(world.practice_ids[0])))
    assert created.status_code == 303, created.text
    assert "Léa" in admin.get("/admin/users").text
    weak = admin.post("/admin/users", data=form(admin, username="max", role="secretary", password="court"))
    assert weak.status_code == 422 and "password : trop court" in weak.text
    demote = admin.post(f"/admin/users/{world.users['admin']}", data=form(admin, role="manager", active="on"))
    assert demote.status_code == 409 and "dernier administrateur" in demote.text


# --- the first admin in production ---------------------------------------------------------------------------


def test_create_the_first_admin_from_the_command_line(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path):
    from typer.testing import CliRunner

    from console.cli import app as cli

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PERMANENCE_DATA_DIR", str(tmp_path))
    short = CliRunner().invoke(cli, ["admin", "create-user", "--username", "chef"], input="court\ncourt\n")
    assert short.exit_code == 2 and "password : trop court" in short.output
    done = CliRunner().invoke(cli, ["admin", "create-user", "--username", "chef", "--full-name", "Chef"],
                              input="une phrase secrète\nune phrase secrète\n")
    assert done.exit_code == 0, done.output
    assert "une phrase secrète" not in done.output
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "chef")).one()
        assert user.role == "admin" and verify_password(user.password_hash, "une phrase secrète")
        assert session.exec(select(AuditLog).where(AuditLog.entity == "user")).one().actor == "ligne de commande"
    again = CliRunner().invoke(cli, ["admin", "create-user", "--username", "chef", "--password-stdin"],
                               input="une autre phrase\n")
    assert again.exit_code == 1 and "existe déjà" in again.output


def test_serve_creates_no_user(tmp_path: Path):
    """Outside demo mode there is no default account: the first admin comes from `permanence admin create-user`."""
    import httpx

    from practice.db import make_engine
    from tests.live_server import running_server

    env = {"PERMANENCE_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "PERMANENCE_DEMO": "false",
           "PERMANENCE_SECRET_KEY": "a-real-secret-key-for-this-test"}
    with running_server("serve", env=env) as url, httpx.Client(base_url=url) as c:
        page = c.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        for name in ("admin", "manager", "secretaire"):
            answer = c.post("/login", data={"username": name, "password": "demo", "csrf_token": token})
            assert answer.status_code == 401
    with Session(make_engine(f"sqlite:///{tmp_path / 'permanence.db'}")) as session:
        assert list(session.exec(select(User))) == []


def test_a_forged_notice_in_the_address_is_never_shown(world: ConsoleWorld, admin: TestClient):
    """The address carries a notice's key: a link cannot make the page say whatever it wants."""
    forged = admin.get("/admin", params={"ok": "Votre compte est bloqué : appelez le 08 99 00 00 00"})
    assert forged.status_code == 200 and "08 99" not in forged.text and 'id="notice"' not in forged.text
    known = admin.get("/admin", params={"ok": "practice_added"})
    assert 'id="notice"' in known.text and "Cabinet ajouté" in known.text
