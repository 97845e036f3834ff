"""The secretaries' console in English: the queue and softphone pages, the queue API's messages, French unchanged."""

from __future__ import annotations

import html as html_text
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine

from console.api.queue import DISPOSITIONS_FR, dispositions_in
from console.api.queue_errors import ERRORS
from console.app import create_app
from console.i18n import LANGUAGE_COOKIE, catalogue, tr
from tests.console_fixtures import CSRF_INPUT, PASSWORD, ConsoleWorld, console_settings, make_console
from tests.i18n_checks import french_leftovers
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=3)
    yield w
    drop_prefix(shared_redis, w.keys)


def _client(world: ConsoleWorld, short: str, language: str | None = None) -> TestClient:
    client = TestClient(world.app, follow_redirects=False)
    form = CSRF_INPUT.search(client.get("/login").text)
    assert form
    answer = client.post("/login", data={"username": world.username(short), "password": PASSWORD,
                                         "csrf_token": form.group(1)})
    assert answer.status_code == 303
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    if language:
        switched = client.get(f"/language/{language}", params={"next": "/queue"})
        assert switched.status_code in {302, 303, 307} and switched.headers["location"] == "/queue"
    return client


def _practices(world: ConsoleWorld) -> tuple[str, ...]:
    return tuple(f"Cabinet {i} {world.tag}" for i in range(len(world.practice_ids)))


@pytest.mark.unit
def test_every_queue_error_and_disposition_has_an_english_text():
    """Every queue error message (marked in console.api.queue_errors) and call outcome reads in English."""
    for _status, _code, message in ERRORS.values():
        assert tr("en", message) != message, message
    assert set(dispositions_in("en")) == set(DISPOSITIONS_FR)
    assert dispositions_in("en")["advised_15"].startswith("Referred to 15")
    assert dispositions_in("fr") == DISPOSITIONS_FR


@pytest.mark.unit
def test_the_browser_catalogue_carries_the_queue_labels():
    english = catalogue("en", "js").exact
    assert english["Urgence vitale"] == "Emergency"
    assert english["Prendre"] == "Take"
    assert english["Nouvel appel : urgence vitale !"] == "New call: life-threatening emergency!"
    assert english["attend depuis {minutes} min {seconds} s"] == "waiting for {minutes} min {seconds} s"


@pytest.mark.integration
def test_the_queue_page_in_english_has_no_french_left(world: ConsoleWorld):
    with _client(world, "sec0", "en") as client:
        page = client.get("/queue")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html
    for english in ("Take this call", "My current calls", "Call-backs to make", "Call outcome", "Close the ticket",
                    "Referred to 15 (SAMU emergency services)", "Available", "Log out", "Caller&#39;s voice level"):
        assert english in html, english
    assert french_leftovers(html, allowed=(world.username("sec0"), "SOS Médecins")) == []


@pytest.mark.integration
def test_the_queue_page_stays_french_without_the_cookie(world: ConsoleWorld):
    with _client(world, "sec0") as client:
        html = client.get("/queue").text
    assert '<html lang="fr">' in html
    for french in ("Prendre cet appel", "Mes appels en cours", "Rappels à faire", "Clore le ticket",
                   "Orienté vers le 15 (SAMU)", "Disponible", "Se déconnecter"):
        assert french in html, french
    assert "Take this call" not in html
    assert "Prendre cet appel" in french_leftovers(html, allowed=(world.username("sec0"),))  # the check sees French


@pytest.mark.integration
def test_a_claim_lost_to_a_colleague_is_explained_in_her_language(world: ConsoleWorld):
    ticket = world.enqueue(0)
    with _client(world, "sec0") as winner, _client(world, "sec2", "en") as english, \
            _client(world, "sec2") as french:
        assert winner.post(f"/api/tickets/{ticket}/claim").status_code == 200
        lost = english.post(f"/api/tickets/{ticket}/claim")
        assert lost.status_code == 409
        assert lost.json() == {"detail": "Too late: someone else has just taken this ticket.",
                               "code": "already_claimed"}
        lost_fr = french.post(f"/api/tickets/{ticket}/claim")
        assert lost_fr.status_code == 409 and lost_fr.json()["detail"].startswith("Trop tard")
        missing = english.post("/api/tickets/does-not-exist/claim")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "Ticket not found: it is no longer in the queue."
        token = english.get(f"/api/tickets/{ticket}/livekit-token")
        assert token.status_code == 404 and token.json()["detail"] == "Ticket not found, or taken by someone else."


@pytest.mark.integration
def test_the_softphone_page_in_english_has_no_french_left(world: ConsoleWorld):
    with _client(world, "sec0", "en") as client:
        page = client.get("/softphone")
    assert page.status_code == 200
    html = page.text
    for english in ("Call the front desk", "Your number (shown to the agent)", "Practice called", "Ready to call.",
                    "Phone keypad", "Live transcript", "Triage decisions", "and runs before any conversation"):
        assert english in html, english
    assert french_leftovers(html, allowed=_practices(world)) == []


@pytest.mark.integration
def test_the_demo_softphone_in_english_and_in_french(engine: Engine, shared_redis: Redis):  # noqa: F811
    app = create_app(settings=console_settings(demo=True), engine=engine, redis=shared_redis)
    with TestClient(app, follow_redirects=False) as client:
        french = client.get("/softphone").text
        client.cookies.set(LANGUAGE_COOKIE, "en")
        english = client.get("/softphone").text
    assert "Mode démonstration : appelez l'agent depuis votre micro." in html_text.unescape(french)
    assert "Prêt à appeler." in french and "Demo mode" not in french
    assert "Demo mode: call the agent from your microphone." in english
    names = tuple(line.split(">", 1)[1].split("<", 1)[0] for line in english.split("<option value=")[1:])
    assert french_leftovers(english, allowed=names) == []
