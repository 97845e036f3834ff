"""An admin in headless Chromium: log in, add a lunch break to Monday, add a practitioner, see both on the home page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import SCREENSHOTS, chromium_page
from tests.i18n_checks import french_leftovers
from tests.live_server import running_server

pytestmark = pytest.mark.browser

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("admin-demo")
    env = {"PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": "", "REDIS_URL": REDIS_URL,
           "PERMANENCE_SECRET_KEY": ""}
    with running_server("demo", env=env) as url:
        yield url


def shot(page: object, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"admin-{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_admin_edits_hours_and_adds_a_practitioner(demo_url: str):
    with chromium_page(locale="fr-FR") as page:
        page.goto(demo_url + "/admin")
        assert "/login" in page.url  # the administration asks for a login first
        page.get_by_label("Identifiant").fill("admin")
        page.get_by_label("Mot de passe").fill("demo")
        page.get_by_label("Mot de passe").press("Enter")  # keyboard only
        page.wait_for_url(demo_url + "/admin")
        shot(page, "1-index")
        page.get_by_role("link", name="Maison de santé des Tilleuls").click()
        page.wait_for_selector("#horaires")

        monday = page.get_by_label("Lundi", exact=True)
        assert monday.input_value() == "08:00-12:30, 14:00-19:00"
        monday.fill("08:00-12:00, 13:30-19:00")  # a longer lunch break
        monday.press("Enter")
        page.wait_for_selector("#notice")
        assert page.locator("#notice").inner_text() == "Horaires enregistrés"
        assert page.get_by_label("Lundi", exact=True).input_value() == "08:00-12:00, 13:30-19:00"
        shot(page, "2-hours-saved")

        page.get_by_label("Lundi", exact=True).fill("13:00-12:00")
        page.get_by_role("button", name="Enregistrer les horaires").click()
        assert "doit suivre" in page.get_by_role("alert").inner_text()
        shot(page, "3-hours-refused")

        page.get_by_label("Prénom").fill("Hélène")
        page.get_by_label("Nom", exact=True).last.fill("Marchand")
        page.get_by_label("Profession").fill("Sage-femme")
        page.get_by_label("Langues (codes, ex. fr, en)").fill("fr, es")
        page.get_by_role("button", name="Ajouter le praticien").click()
        page.wait_for_selector("#notice")
        assert page.locator("#notice").inner_text() == "Praticien ajouté"
        assert page.get_by_role("link", name="Dr Hélène Marchand").is_visible()
        shot(page, "4-practitioner-added")

        page.goto(demo_url + "/")
        card = page.locator("section.card").first
        assert "Lundi : 08:00–12:00, 13:30–19:00" in card.inner_text()
        assert "Dr Hélène Marchand" in card.inner_text()
        shot(page, "5-home")

        page.goto(demo_url + "/admin/audit")
        assert page.locator("table tbody tr").count() >= 2  # the two changes, who and when
        shot(page, "6-audit")


def test_admin_in_english_switches_language_and_reads_errors_and_notices(demo_url: str):
    with chromium_page(locale="en-GB") as page:
        page.goto(demo_url + "/login?next=/admin/users")
        page.get_by_label("Identifiant").fill("admin")
        page.get_by_label("Mot de passe").fill("demo")
        page.get_by_label("Mot de passe").press("Enter")
        page.wait_for_url(demo_url + "/admin/users")
        assert page.get_by_role("heading", name="Utilisateurs et rôles").is_visible()

        page.get_by_role("link", name="English").click()  # the language switch in the header
        page.wait_for_selector("html[lang=en]")
        assert page.url == demo_url + "/admin/users"  # back on the same page
        assert page.get_by_role("heading", name="Users and roles").is_visible()
        people = ("Camille Secrétaire", "Hélène Responsable", "Admin Démo", "Maison de santé des Tilleuls")
        assert french_leftovers(page.content(), allowed=people) == []
        shot(page, "en-1-users")

        page.get_by_label("Username", exact=True).fill("admin")  # taken: the demo's own admin
        page.get_by_label("Full name").last.fill("Grace Hopper")
        page.get_by_label("Password (at least 10 characters)", exact=True).fill("a long enough password")
        page.get_by_role("button", name="Create", exact=True).click()
        alert = page.get_by_role("alert")
        assert alert.inner_text() == "The username “admin” is already taken."
        shot(page, "en-2-user-refused")

        page.get_by_label("Username", exact=True).fill("ghopper")  # the refused form comes back empty
        page.get_by_label("Full name").last.fill("Grace Hopper")
        page.get_by_label("Password (at least 10 characters)", exact=True).fill("a long enough password")
        page.get_by_role("button", name="Create", exact=True).click()
        page.wait_for_selector("#notice")
        assert page.locator("#notice").inner_text() == "User created"
        assert page.get_by_text("Grace Hopper — Secretary").is_visible()
        shot(page, "en-3-user-created")

        page.get_by_role("link", name="Practices", exact=True).click()
        page.get_by_role("link", name="Maison de santé des Tilleuls").click()
        page.get_by_label("Monday", exact=True).fill("8h-12h")
        page.get_by_role("button", name="Save opening hours").click()
        assert "Monday: “8h-12h” is not a time range like 08:00-12:00" in page.get_by_role("alert").inner_text()
        shot(page, "en-4-hours-refused")
