"""The console's languages: complete catalogues, the translation rules, the language switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from console.i18n import (
    LANGUAGE_COOKIE,
    Catalogue,
    _pattern,
    catalogue,
    format_percent,
    normalise_language,
    read_catalogue_files,
    safe_next,
    tr,
)
from console.i18n_catalogues import catalogue_for, check, extract_messages
from practice.db import make_engine, migrate
from tests.console_fixtures import ConsoleWorld, make_console
from tests.i18n_checks import french_leftovers
from tests.queue_fixtures import SHARED_REDIS, drop_prefix


@pytest.mark.unit
def test_every_marked_text_has_an_english_translation():
    """Untranslated, fuzzy, stale or placeholder-mismatched entries: run `python -m console.i18n_catalogues update`."""
    assert check("en") == []


@pytest.mark.unit
def test_the_sources_are_read_for_every_kind_of_file():
    found = extract_messages()
    assert "Accueil téléphonique hybride" in found["messages"]  # a template
    assert "Identifiant ou mot de passe incorrect." in found["secretary"]  # Python code with tr()
    assert "lundi" in found["messages"]  # Python code marked with N_()
    assert catalogue_for("console/static/queue.js") == "js-secretary"
    assert catalogue_for("console/static/i18n.js") == "js-messages"
    assert catalogue_for("console/templates/manager/reports.html") == "manager"
    assert catalogue_for("console/admin/forms.py") == "admin"
    assert catalogue_for("escalation/thresholds.py") == "manager"


@pytest.mark.unit
def test_translation_fills_placeholders_and_keeps_unknown_text():
    assert tr("en", "Identifiant ou mot de passe incorrect.") == "Wrong username or password."
    assert tr("fr", "Identifiant ou mot de passe incorrect.") == "Identifiant ou mot de passe incorrect."
    assert tr("en", "Trop de tentatives : compte bloqué sur ce poste. Réessayez dans {minutes} minute(s).",
              minutes=3).endswith("Try again in 3 minute(s).")
    assert tr("en", "Un texte que personne n'a marqué") == "Un texte que personne n'a marqué"
    assert tr("de", "Accueil") == "Accueil"  # an unsupported language: the French source


@pytest.mark.unit
def test_a_text_formatted_before_translation_is_recognised_by_its_pattern():
    english = catalogue("en")
    formatted = "Trop de tentatives : compte bloqué sur ce poste. Réessayez dans 12 minute(s)."
    assert english.translate(formatted) == ("Too many attempts: this account is locked on this computer. "
                                            "Try again in 12 minute(s).")


@pytest.mark.unit
def test_patterns_with_too_little_fixed_text_are_never_guessed():
    assert _pattern("{day} : {spans}") is None  # would match any "x : y"
    assert _pattern("Sans paramètre") is None
    own = Catalogue(exact={"{day} : {spans}": "{day}: {spans}"})
    assert own.translate("Urgence vitale : attente") == "Urgence vitale : attente"


@pytest.mark.unit
def test_po_files_skip_fuzzy_and_empty_entries(tmp_path: Path):
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Oui"\nmsgstr "Yes"\n\n#, fuzzy\nmsgid "Non"\nmsgstr "No"\n\nmsgid "Vide"\nmsgstr ""\n',
                  encoding="utf-8")
    assert read_catalogue_files([po]) == {"Oui": "Yes"}


@pytest.mark.unit
def test_languages_and_numbers():
    assert normalise_language("en-GB") == "en"
    assert normalise_language("xx") == "fr"
    assert normalise_language(None) == "fr"
    assert format_percent("fr", 0.125) == "12,5 %"
    assert format_percent("en", 0.125) == "12.5%"
    assert format_percent("en", None) == "—"


@pytest.mark.unit
@pytest.mark.parametrize(("target", "expected"), [
    ("/manager/reports?practice_id=1", "/manager/reports?practice_id=1"), ("https://evil.example/", "/"),
    ("//evil.example/x", "/"), ("/\\evil.example", "/"), ("", "/"), ("javascript:alert(1)", "/"),
])
def test_the_switch_only_goes_back_to_a_local_page(target: str, expected: str):
    assert safe_next(target) == expected


@pytest.fixture
def world(tmp_path: Path):
    from redis import Redis

    engine = make_engine(f"sqlite:///{tmp_path / 'permanence.db'}")
    migrate(engine)
    redis = Redis.from_url(SHARED_REDIS)
    w = make_console(engine, redis, secretaries=1, practices=1)
    yield w
    drop_prefix(redis, w.keys)
    redis.close()


@pytest.mark.integration
def test_the_language_switch_is_remembered(world: ConsoleWorld):
    with TestClient(world.app) as client:
        home = client.get("/")
        assert '<html lang="fr">' in home.text and "Accueil téléphonique hybride" in home.text
        assert 'href="/language/en?next=/"' in home.text
        switched = client.get("/language/en", params={"next": "/login?next=/queue"}, follow_redirects=False)
        assert switched.status_code == 303
        assert switched.headers["location"] == "/login?next=/queue"
        assert switched.cookies.get(LANGUAGE_COOKIE) == "en"
        login = client.get("/login")
        assert '<html lang="en">' in login.text
        assert "Sign in" in login.text and "Mot de passe" not in login.text
        wrong = client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": _csrf(login.text)})
        assert "Wrong username or password." in wrong.text
        client.get("/language/fr")
        assert "Connexion" in client.get("/login").text


@pytest.mark.integration
def test_an_unknown_language_changes_nothing(world: ConsoleWorld):
    with TestClient(world.app) as client:
        answer = client.get("/language/xx", params={"next": "https://evil.example/"}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        assert LANGUAGE_COOKIE not in answer.cookies
        client.cookies.set(LANGUAGE_COOKIE, "klingon")
        assert '<html lang="fr">' in client.get("/").text


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


@pytest.mark.integration
def test_the_shell_and_login_page_hold_no_french_in_english(world: ConsoleWorld):
    with TestClient(world.app, cookies={LANGUAGE_COOKIE: "en"}) as client:
        assert french_leftovers(client.get("/login").text) == []
        assert french_leftovers(client.get("/").text, allowed=tuple(_practice_names(world))) == []
    with TestClient(world.app) as client:
        assert "Mot de passe" in " ".join(french_leftovers(client.get("/login").text))  # the check sees French


def _practice_names(world: ConsoleWorld) -> list[str]:
    from sqlmodel import Session, select

    from practice.models import Practice

    with Session(world.engine) as session:
        return [p.name for p in session.exec(select(Practice))]


@pytest.mark.unit
def test_one_french_text_gets_one_translation_across_catalogues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import console.i18n_catalogues as tools

    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    (folder / "manager.po").write_text(header + 'msgid "Urgence vitale"\nmsgstr "Emergency"\n', encoding="utf-8")
    (folder / "secretary.po").write_text(header + 'msgid "Urgence vitale"\nmsgstr "Life-threatening"\n',
                                         encoding="utf-8")
    monkeypatch.setattr(tools, "LOCALES_DIR", tmp_path)
    assert tools._disagreements("en") == [
        "secretary.po: 'Urgence vitale' → 'Life-threatening', but manager.po says 'Emergency'"]


@pytest.mark.integration
def test_the_login_and_csrf_refusals_follow_the_language(world: ConsoleWorld):
    with TestClient(world.app, cookies={LANGUAGE_COOKIE: "en"}) as client:
        assert client.get("/api/me").json()["detail"] == "Sign-in required."
        assert "CSRF token" in client.post("/logout").json()["detail"]
    with TestClient(world.app) as client:
        assert client.get("/api/me").json()["detail"] == "Connexion requise."
