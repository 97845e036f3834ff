"""The first page a newcomer opens after `permanence demo`, in headless Debian Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import running_server

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("PERMANENCE_ARTIFACTS", "artifacts")) / "screenshots"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("demo-data")
    env = {"PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": "", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    with running_server("demo", env=env) as url:
        yield url


def test_demo_home_page_renders_the_practice(demo_url: str):
    playwright = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).exists(), "install Debian chromium (scripts/setup.sh does)"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="fr-FR")
        page.goto(demo_url + "/")
        assert page.locator("h1").first.inner_text() == "Maison de santé des Tilleuls"
        assert page.get_by_role("note").inner_text().startswith("Mode démonstration")
        rows = page.locator("table tbody tr")
        assert rows.count() == 7
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)
        page.goto(demo_url + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
        assert "/api/practices" in page.content()
        browser.close()


def test_the_header_switches_the_interface_to_english_and_back(demo_url: str):
    """A keyboard user picks English in the header; the choice survives navigation; French comes back."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="fr-FR")
        page.goto(demo_url + "/")
        assert page.locator("html").get_attribute("lang") == "fr"
        english = page.get_by_role("link", name="English")
        english.focus()
        page.keyboard.press("Enter")
        page.wait_for_url(demo_url + "/")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", name="Opening hours").first.is_visible()
        assert page.get_by_role("note").inner_text().startswith("Demo mode")
        page.goto(demo_url + "/login")
        assert page.get_by_role("button", name="Sign in").is_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "login-english.png"), full_page=True)
        page.get_by_role("link", name="Français").click()
        page.wait_for_url(demo_url + "/login")
        assert page.get_by_role("button", name="Se connecter").is_visible()
        browser.close()
