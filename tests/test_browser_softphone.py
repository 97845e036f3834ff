"""The browser softphone in headless Chromium: a fake microphone speaks to the real agent of `permanence demo`."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.live_server import running_server

pytestmark = pytest.mark.browser

SENTENCE = "Bonjour, je voudrais prendre un rendez-vous avec le docteur Martin."
FAKE_MIC = ["--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("softphone-demo")
    # a carrier token is set: the browser's calls get through only with the token its page was signed
    env = {"PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": "", "REDIS_URL": "redis://127.0.0.1:6379/13",
           "PERMANENCE_SECRET_KEY": "", "MEDIA_STREAM_TOKEN": "browser-test-carrier-token"}
    with running_server("demo", env=env) as url:
        yield url


@pytest.fixture(scope="module")
def caller_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The caller's sentence as Chromium's fake microphone plays it: 48 kHz 16-bit mono WAV, looped."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed to make the caller's voice")
    folder = tmp_path_factory.mktemp("softphone-audio")
    raw, wav = folder / "raw.wav", folder / "caller.wav"
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "150", "-w", str(raw), SENTENCE], check=True)
    # -D: no dither (deterministic transcript); 1 s of silence before, 40 s after: the reply (proposed slots,
    # ~10 s) plays out before the file loops and the caller speaks again
    subprocess.run(["sox", str(raw), "-D", "-r", "48000", "-b", "16", "-c", "1", str(wav), "pad", "1.0", "40.0"],
                   check=True)
    return wav


def _launch(playwright: Any, extra: list[str]) -> Any:
    assert Path(CHROMIUM).exists(), "install Debian chromium (scripts/setup.sh does)"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra])


def _stats(page: Any) -> dict[str, Any]:
    stats: dict[str, Any] = page.evaluate("() => ({...window.permanenceSoftphone.stats})")
    return stats


def _wait(page: Any, condition: Any, timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = _stats(page)
        if condition(stats):
            return stats
        time.sleep(0.25)
    transcript = page.inner_text("#transcript")
    raise AssertionError(f"{what} within {timeout} s; stats {_stats(page)}; transcript:\n{transcript}")


def test_a_caller_speaks_to_the_agent_and_sees_the_transcript_and_triage(demo_url: str, caller_wav: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    args = [*FAKE_MIC, "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={caller_wav}"]
    with playwright.sync_playwright() as p:
        browser = _launch(p, args)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(demo_url + "/softphone")
        assert page.locator("h1").inner_text() == "Appeler l'accueil"
        page.fill("#caller", "06 12 34 56 78")
        page.click("#call")
        assert page.is_enabled("#hangup") and page.is_disabled("#call")
        greeting = _wait(page, lambda s: s["mediaIn"] > 25 and s["playedMs"] > 0, 30, "the agent's greeting audio")
        assert greeting["mediaOut"] > 0, "the microphone's frames are sent"
        page.wait_for_selector("#transcript li.agent", timeout=10_000)
        assert "Maison de santé des Tilleuls" in page.locator("#transcript li.agent").first.inner_text()
        page.wait_for_selector("#transcript li.caller", timeout=45_000)
        caller_turn = page.locator("#transcript li.caller").first.inner_text().lower()
        assert caller_turn.startswith("vous :") and "rendez-vous" in caller_turn
        page.wait_for_selector("#triage li.decision", timeout=10_000)
        assert page.locator("#triage li.decision").first.inner_text().startswith("Courant")
        _wait(page, lambda s: s["marksOut"] >= 1, 30, "a mark echoed once the agent's reply has played")
        page.click("#keypad button[data-digit='5']")
        page.wait_for_selector("#transcript li.dtmf", timeout=10_000)
        assert page.inner_text("#timer") != "00:00"
        assert page.locator("#agent-level").count() == 1 and page.locator("#mic-level").count() == 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "softphone-call.png"), full_page=True)
        page.click("#hangup")
        playwright.expect(page.locator("#status")).to_have_text("Appel terminé.", timeout=10_000)
        assert page.is_enabled("#call") and page.is_disabled("#hangup") and page.inner_text("#error") == ""
        assert errors == []
        browser.close()


@pytest.mark.parametrize(
    ("case", "args", "permissions", "message"),
    [
        ("denied", FAKE_MIC, [], "Accès au micro refusé."),
        ("absent", [], ["microphone"], "Aucun micro détecté."),
    ],
)
def test_a_refused_or_absent_microphone_gets_a_french_message(
    demo_url: str, case: str, args: list[str], permissions: list[str], message: str
) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = _launch(p, args)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR", permissions=permissions)
        page = context.new_page()
        page.goto(demo_url + "/softphone")
        page.click("#call")
        alert = page.get_by_role("alert")
        alert.wait_for(state="visible", timeout=10_000)
        assert alert.inner_text().startswith(message)
        assert page.inner_text("#status") == "Appel impossible."
        assert page.is_enabled("#call") and page.is_disabled("#hangup")
        assert _stats(page)["mediaOut"] == 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"softphone-microphone-{case}.png"), full_page=True)
        browser.close()



def test_a_call_from_a_page_whose_token_is_no_longer_valid_is_refused_with_a_message(
    demo_url: str, caller_wav: Path
) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    args = [*FAKE_MIC, "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={caller_wav}"]
    with playwright.sync_playwright() as p:
        browser = _launch(p, args)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        page.goto(demo_url + "/softphone")
        page.eval_on_selector("#call-form", "form => { form.dataset.token = form.dataset.token + 'x'; }")
        page.click("#call")
        alert = page.get_by_role("alert")
        alert.wait_for(state="visible", timeout=15_000)
        assert alert.inner_text() == "Appel refusé : cette page a expiré. Rechargez-la, puis appelez à nouveau."
        assert page.is_enabled("#call") and page.is_disabled("#hangup")
        assert page.locator("#transcript li.agent").count() == 0  # refused before the greeting
        browser.close()
