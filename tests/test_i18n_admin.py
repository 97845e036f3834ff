"""The administration console in English: every page, form refusals, notices and API errors; French unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.admin.schemas import RetentionRefusal
from console.i18n import LANGUAGE_COOKIE
from practice.models import Patient
from practice.retention import RetentionDays
from tests.admin_fixtures import login_client
from tests.console_fixtures import ConsoleWorld, make_console
from tests.i18n_checks import french_leftovers
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

CLOSURE_REASON = "Pont de l'Ascension"
DOCTOR = ("Claire", "Martin", "médecin généraliste")
ABSENCE_REASON = "Congés"
PATIENT = ("Jeanne", "Dupont")
NOTICE = '<p class="notice" role="status" id="notice">{}</p>'
PROPER_NAMES = ("Réunion", "SOS Médecins")  # a French region, a French service: named as they are


@dataclass
class Directory:
    practice_id: int
    practitioner_id: int


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=1)
    yield w
    drop_prefix(shared_redis, w.keys)


def logged_in(world: ConsoleWorld, short: str, language: str | None) -> TestClient:
    client = TestClient(world.app, follow_redirects=False)
    login_client(client, world.username(short))
    if language:
        client.cookies.set(LANGUAGE_COOKIE, language)
    return client


@pytest.fixture
def english(world: ConsoleWorld) -> Iterator[TestClient]:
    with logged_in(world, "admin", "en") as client:
        yield client


@pytest.fixture
def french(world: ConsoleWorld) -> Iterator[TestClient]:
    with logged_in(world, "admin", None) as client:
        yield client


@pytest.fixture
def directory(world: ConsoleWorld, english: TestClient) -> Directory:
    """A practice with hours (a lunch break), a closure, a practitioner with a visit type, availability, an
    absence, a patient; changed through the API, so the audit log has rows."""
    pid = world.practice_ids[0]
    week = [{"weekday": 0, "opens": "08:00", "closes": "12:00"}, {"weekday": 0, "opens": "14:00", "closes": "19:00"}]
    calls = [english.put(f"/api/admin/practices/{pid}/opening-hours", json={"windows": week}),
             english.post(f"/api/admin/practices/{pid}/closures", json={"day": "2026-05-14", "reason": CLOSURE_REASON})]
    doc = english.post(f"/api/admin/practices/{pid}/practitioners", json={
        "first_name": DOCTOR[0], "last_name": DOCTOR[1], "profession": DOCTOR[2], "languages": ["fr", "en"]})
    did = doc.json()["id"]
    calls += [doc, english.post(f"/api/admin/practitioners/{did}/consultation-types",
                                json={"name": "Consultation", "duration_minutes": 20, "is_default": True}),
              english.put(f"/api/admin/practitioners/{did}/availability",
                          json={"rules": [{"weekday": 1, "starts": "09:00", "ends": "12:00"}]}),
              english.post(f"/api/admin/practitioners/{did}/exceptions", json={
                  "starts_at": "2026-12-26T00:00:00", "ends_at": "2027-01-02T00:00:00", "reason": ABSENCE_REASON})]
    assert all(c.status_code in (200, 201) for c in calls), [c.text for c in calls]
    with Session(world.engine) as session:
        session.add(Patient(first_name=PATIENT[0], last_name=PATIENT[1], birth_date=date(1956, 3, 12),
                            phone="0612345678"))
        session.commit()
    return Directory(pid, did)


def data_names(world: ConsoleWorld) -> tuple[str, ...]:
    """What is rightly French on any page: names, reasons, proper names."""
    practices = tuple(f"Cabinet {i} {world.tag}" for i in range(len(world.practice_ids)))
    return (*practices, CLOSURE_REASON, ABSENCE_REASON, *DOCTOR, *PATIENT, *PROPER_NAMES)


def form(client: TestClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": client.headers["X-CSRF-Token"], **fields}


def page_in_english(world: ConsoleWorld, answer: Any, *expected: str) -> str:
    assert answer.status_code == 200, answer.text
    html = str(answer.text)
    assert '<html lang="en">' in html
    for text in expected:
        assert text in html, text
    assert french_leftovers(html, allowed=data_names(world)) == []
    return html


# --- every page ----------------------------------------------------------------------------------------------


def test_practices_list_in_english(world: ConsoleWorld, english: TestClient, directory: Directory):
    page_in_english(world, english.get("/admin"), "The group&#39;s practices", "Time zone", "Add a practice",
                    "Users and roles", "Patients&#39; rights (GDPR)", "Signed in:")


def test_practice_page_in_english(world: ConsoleWorld, english: TestClient, directory: Directory):
    html = page_in_english(world, english.get(f"/admin/practices/{directory.practice_id}"),
                           "Opening hours", "Monday", "Sunday", 'placeholder="closed"', "Exceptional closures",
                           CLOSURE_REASON.replace("'", "&#39;"), "Practitioners", "Out-of-hours care",
                           "Retention periods (GDPR)", "Audio recordings (days)", "Call metadata (call log) (days)",
                           "Save opening hours", "yes")
    assert "08:00-12:00, 14:00-19:00" in html


def test_practitioner_page_in_english(world: ConsoleWorld, english: TestClient, directory: Directory):
    page_in_english(world, english.get(f"/admin/practitioners/{directory.practitioner_id}"),
                    "Visit types", "Consultation — 20 min (default)", "Weekly availability", "Tuesday",
                    "Absence from 26/12/2026 00:00 to 02/01/2027 00:00", "Extra opening", "Slot length (minutes)",
                    "Active (offered for booking)")


def test_users_page_in_english(world: ConsoleWorld, english: TestClient, directory: Directory):
    page_in_english(world, english.get("/admin/users"), "Users and roles", "Secretary", "Administrator",
                    "Practices served", "New password (at least 10 characters)", "Create a user")


def test_audit_page_in_english(world: ConsoleWorld, english: TestClient, directory: Directory):
    html = page_in_english(world, english.get("/admin/audit"), "Audit log", "Export as CSV", "Date (UTC)",
                           "opening_hours")
    assert "No entries." not in html  # the changes above are listed


def test_patients_page_in_english(world: ConsoleWorld, english: TestClient, directory: Directory):
    page_in_english(world, english.get("/admin/patients"), "Patients&#39; rights (access, erasure)", "Date of birth")
    found = english.post("/admin/patients", data=form(english, name=PATIENT[1], phone="", birth_date=""))
    page_in_english(world, found, "Born 12/03/1956", "Export all their data (JSON)",
                    "Irreversible erasure: type EFFACER to confirm", "Erase this patient&#39;s data")
    nobody = english.post("/admin/patients", data=form(english, name="Personne", phone="", birth_date=""))
    page_in_english(world, nobody, "No patient found.")


# --- refusals and notices ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "fields", "message"), [
    ("/admin/practices/{pid}/hours", {"day0": "8h-12h"},
     "Monday: “8h-12h” is not a time range like 08:00-12:00"),
    ("/admin/practices/{pid}/hours", {"day2": "25:00-26:00"}, "Wednesday: impossible time in “25:00-26:00”"),
    ("/admin/practices/{pid}/hours", {"day0": "12:00-08:00"},
     "windows: the closing time (08:00) must come after the opening time (12:00)"),
    ("/admin/practices/{pid}/hours", {"day0": "08:00-12:00, 11:00-13:00"},
     "two time ranges overlap on day 0 (around 11:00)"),
    ("/admin/practices/{pid}/closures", {"day": "", "reason": "x"}, "day: invalid date (YYYY-MM-DD)"),
    ("/admin/practices/{pid}/practitioners", {"first_name": "", "last_name": "X", "profession": "y"},
     "first_name: too short"),
    ("/admin/practices/{pid}", {"name": "X", "timezone": "Mars/Olympus", "holiday_country": "FR",
                                "emergency_number": "15"},
     "timezone: unknown time zone: &#39;Mars/Olympus&#39; (expected: an IANA name such as Europe/Paris)"),
    ("/admin/practices/{pid}", {"name": "X", "timezone": "Europe/Paris", "holiday_country": "FR",
                                "emergency_number": "15", "holiday_subdivision": "99"},
     "subdivision &#39;99&#39; unknown for FR (values:"),
    ("/admin/practices/{pid}/retention", {"audio_days": "400", "transcript_days": "90", "summary_days": "90",
                                          "metadata_days": "300"},
     "Audio recordings cannot be kept longer than the call metadata (300 days): the call is deleted"),
    ("/admin/users", {"username": "max", "role": "secretary", "password": "court"}, "password: too short"),
])
def test_a_refused_form_says_why_in_english(world: ConsoleWorld, english: TestClient, path: str,
                                            fields: dict[str, str], message: str):
    answer = english.post(path.format(pid=world.practice_ids[0]), data=form(english, **fields))
    assert answer.status_code == 422, answer.text
    assert message in answer.text
    assert french_leftovers(answer.text, allowed=data_names(world)) == []


def test_domain_refusals_in_english(world: ConsoleWorld, english: TestClient):
    demote = english.post(f"/admin/users/{world.users['admin']}", data=form(english, role="manager", active="on"))
    assert demote.status_code == 409
    assert "Not possible: this is the last active administrator. Appoint another one first." in demote.text
    created = english.post("/admin/users", data=form(english, username="lea", role="secretary",
                                                     password="a long enough password"))
    assert created.status_code == 303
    again = english.post("/admin/users", data=form(english, username="lea", role="secretary",
                                                   password="a long enough password"))
    assert again.status_code == 409 and "The username “lea” is already taken." in again.text


def test_success_notices_in_english(world: ConsoleWorld, english: TestClient):
    pid = world.practice_ids[0]
    added = english.post(f"/admin/practices/{pid}/closures", data=form(english, day="2026-07-14", reason="Fête"))
    assert added.status_code == 303
    assert NOTICE.format("Closure added") in english.get(added.headers["location"]).text
    user = english.post("/admin/users", data=form(english, username="noa", role="manager", password="0123456789ab"))
    assert NOTICE.format("User created") in english.get(user.headers["location"]).text


# --- the JSON API's messages ---------------------------------------------------------------------------------


def messages(answer: Any) -> str:
    return " ".join(str(e.get("msg", "")) for e in answer.json()["detail"])


def test_api_errors_in_english(world: ConsoleWorld, english: TestClient):
    pid = world.practice_ids[0]
    zone = english.patch(f"/api/admin/practices/{pid}", json={"timezone": "Mars/Olympus"})
    assert zone.status_code == 422
    assert "Value error, unknown time zone: 'Mars/Olympus'" in messages(zone)
    short = english.patch(f"/api/admin/practices/{pid}", json={"name": ""})
    assert "at least 1" in messages(short)  # pydantic's own messages are English already
    assert english.get("/api/admin/practices/2147483000").json()["detail"] == "Practice not found."
    assert english.get("/api/admin/users/2147483000").json()["detail"] == "User not found."
    unknown = english.post("/api/admin/users", json={"username": "zoe", "password": "0123456789ab",
                                                     "practice_ids": [999999]})
    assert unknown.json()["detail"] == "Unknown practice(s): 999999."
    subdivision = english.patch(f"/api/admin/practices/{pid}", json={"holiday_subdivision": "99"})
    assert subdivision.json()["detail"].startswith("subdivision '99' unknown for FR (values: ")
    search = english.post("/api/admin/patients/search", json={})
    assert search.json()["detail"] == "Give at least one criterion: phone, name or date of birth."
    erase = english.post("/api/admin/patients/1/erase", json={"confirm": "yes"})
    assert erase.json()["detail"] == "Confirmation missing: type EFFACER to erase (irreversible)."


def test_api_errors_stay_french_without_the_cookie(world: ConsoleWorld, french: TestClient):
    pid = world.practice_ids[0]
    zone = french.patch(f"/api/admin/practices/{pid}", json={"timezone": "Mars/Olympus"})
    assert "Value error, fuseau horaire inconnu : 'Mars/Olympus'" in messages(zone)
    assert zone.json()["detail"][0]["ctx"] == {"error": {}}
    assert french.get("/api/admin/practices/2147483000").json()["detail"] == "Cabinet introuvable."
    windows = [{"weekday": 0, "opens": "12:00", "closes": "08:00"}]
    hours = french.put(f"/api/admin/practices/{pid}/opening-hours", json={"windows": windows})
    assert "l'heure de fermeture (08:00) doit suivre l'ouverture (12:00)" in messages(hours)


# --- French unchanged ----------------------------------------------------------------------------------------


def test_pages_stay_french_without_the_cookie(world: ConsoleWorld, french: TestClient, directory: Directory):
    practice = french.get(f"/admin/practices/{directory.practice_id}").text
    assert '<html lang="fr">' in practice
    for text in ("Horaires d&#39;ouverture", "Fermetures exceptionnelles", "Lundi", 'placeholder="fermé"',
                 "Enregistrements audio (jours)", "Ajouter le praticien", "Connecté : "):
        assert text in practice, text
    practitioner = french.get(f"/admin/practitioners/{directory.practitioner_id}").text
    assert "Absence du 26/12/2026 00:00 au 02/01/2027 00:00 Congés" in practitioner
    assert "Consultation — 20 min (par défaut)" in practitioner
    assert "Secrétaire" in french.get("/admin/users").text
    refused = french.post(f"/admin/practices/{directory.practice_id}/hours", data=form(french, day0="8h-12h"))
    assert "Lundi : « 8h-12h » n&#39;est pas une plage comme 08:00-12:00" in refused.text
    added = french.post(f"/admin/practices/{directory.practice_id}/closures", data=form(french, day="2026-07-14"))
    assert "Fermeture ajoutée" in french.get(added.headers["location"]).text


def test_a_manager_reads_the_refusal_of_another_role_in_english(world: ConsoleWorld):
    with logged_in(world, "manager", "en") as manager:
        answer = manager.get("/admin/users")
        assert answer.status_code == 403
        assert answer.json()["detail"] == "Your role does not give access to the administration."


# --- the retention texts come from practice.retention ---------------------------------------------------------


@pytest.mark.unit
def test_every_retention_problem_is_translated():
    problems = RetentionDays(0, 400, 400, 300).problems() + RetentionDays(10, 20, 30, 9).problems()
    assert len(problems) == 6
    refusal = RetentionRefusal(problems)
    assert str(refusal) == " ".join(problems)  # French as the domain wrote it
    english = refusal.translated("en")
    assert english.startswith("Audio recordings: between 1 and 3650 days (got 0). Transcripts cannot be kept")
    assert french_leftovers(f"<p>{english}</p>") == [], english
