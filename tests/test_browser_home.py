"""The first page a newcomer opens after `permanence demo`, in headless Debian Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import SCREENSHOTS, chromium_page
from tests.live_server import running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("demo-data")
    env = {"PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": "", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    with running_server("demo", env=env) as url:
        yield url


def test_demo_home_page_renders_the_practice(demo_url: str):
    with chromium_page(size=(1280, 800)) as page:
        page.goto(demo_url + "/")
        assert page.locator("h1").first.inner_text() == "Maison de santé des Tilleuls"
        assert page.get_by_role("note").inner_text().startswith("Mode démonstration")
        rows = page.locator("table tbody tr")
        assert rows.count() == 7
        page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)
        page.goto(demo_url + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
        assert "/api/practices" in page.content()


def test_the_header_switches_the_interface_to_english_and_back(demo_url: str):
    """A keyboard user picks English in the header; the choice survives navigation; French comes back."""
    with chromium_page(size=(1280, 800)) as page:
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
        page.screenshot(path=str(SCREENSHOTS / "login-english.png"), full_page=True)
        page.get_by_role("link", name="Français").click()
        page.wait_for_url(demo_url + "/login")
        assert page.get_by_role("button", name="Se connecter").is_visible()
