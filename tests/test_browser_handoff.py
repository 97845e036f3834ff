"""Headless Chromium end to end: a caller's emergency, the secretary takes the call, audio both ways, her words.

A simulated caller speaks over the media-stream socket; the ticket appears on her page; she claims it and takes
the call with a fake microphone; both directions are measured; the live transcript shows what she said.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlmodel import Session, select

from agent.audio import mulaw_decode
from agent.caller_voice import say_mulaw
from escalation.queue import HumanQueue
from escalation.queue_keys import QueueKeys
from escalation.ticket_store import TicketSpec, TicketStore
from practice.db import make_engine
from practice.demo import DEMO_SLUG
from practice.models import Call, Practice
from tests.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.live_server import running_server
from tests.test_handoff import CALLER_AFTER_EN, EMERGENCY_EN, SECRETARY_EN, Caller

pytestmark = pytest.mark.browser

REDIS_URL = "redis://127.0.0.1:6379/9"  # a database no other suite uses (the server keeps the default prefix)
FAKE_MIC = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required"]


def _clear(redis: Redis) -> None:
    for key in redis.scan_iter(match=QueueKeys().pattern(), count=500):
        redis.delete(key)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    redis = Redis.from_url(REDIS_URL)
    _clear(redis)
    data_dir = tmp_path_factory.mktemp("handoff-demo")
    env = {"PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": "", "REDIS_URL": REDIS_URL,
           "PERMANENCE_SECRET_KEY": ""}
    try:
        with running_server("demo", env=env, timeout=150) as url:
            yield url, data_dir / "permanence.db"
    finally:
        _clear(redis)
        redis.close()


@pytest.fixture(scope="module")
def demo_url(demo: tuple[str, Path]) -> str:
    return demo[0]


@pytest.fixture(scope="module")
def secretary_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Her sentence as Chromium's fake microphone plays it (48 kHz 16-bit mono, looped, silence between)."""
    if not shutil.which("sox"):
        pytest.skip("sox is needed to make the secretary's voice")
    folder = tmp_path_factory.mktemp("handoff-audio")
    raw, wav = folder / "raw.wav", folder / "secretary.wav"
    with wave.open(str(raw), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(mulaw_decode(say_mulaw(SECRETARY_EN, "en")).tobytes())
    subprocess.run(["sox", str(raw), "-D", "-r", "48000", "-b", "16", "-c", "1", str(wav), "pad", "0.5", "3.0"],
                   check=True)
    return wav


class CallerThread(threading.Thread):
    """The caller on the media stream, in its own event loop: the emergency, then talking to the secretary."""

    def __init__(self, base: str) -> None:
        super().__init__(name="test-caller", daemon=True)
        self.base = base.replace("http://", "ws://")
        self.bridged = threading.Event()
        self.done = threading.Event()
        self.loud_after_bridge = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._call())
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.done.set()

    async def _call(self) -> None:
        async with Caller(self.base) as caller:
            await caller.quiet_for(1.0)
            await caller.say(EMERGENCY_EN)
            while not self.bridged.is_set():
                await asyncio.sleep(0.1)
            since = time.time()
            for _ in range(3):
                if caller.line.closed.is_set():
                    break
                await _unless_closed(caller, caller.say(CALLER_AFTER_EN))  # she may hang up meanwhile
                self.loud_after_bridge = caller.loud_frames_since(since)
                await asyncio.sleep(2.0)
            await asyncio.wait_for(caller.line.closed.wait(), 120)
            self.loud_after_bridge = caller.loud_frames_since(since)


async def _unless_closed(caller: Caller, speaking: Any) -> None:
    speak, closed = asyncio.ensure_future(speaking), asyncio.ensure_future(caller.line.closed.wait())
    await asyncio.wait({speak, closed}, return_when=asyncio.FIRST_COMPLETED)
    for task in (speak, closed):
        task.cancel()


def _her_words(page: Any, expected: tuple[str, ...], timeout: float) -> str:
    """Her transcript lines once one of the expected words is there (a pause may cut her sentence in two)."""
    deadline = time.monotonic() + timeout
    said = ""
    while time.monotonic() < deadline:
        said = " ".join(page.locator("#d-transcript p.streamed.secretary").all_inner_texts()).lower()
        if any(word in said for word in expected):
            return said
        time.sleep(0.5)
    raise AssertionError(f"her words are not in the live transcript: {said!r}")


def _stats(page: Any) -> dict[str, Any]:
    stats: dict[str, Any] = page.evaluate("() => ({...window.PermanenceHandoff.stats})")
    return stats


def _wait(page: Any, condition: Any, timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = _stats(page)
        if condition(stats):
            return stats
        time.sleep(0.25)
    raise AssertionError(f"{what} within {timeout} s; stats {_stats(page)}")


def test_secretary_takes_the_call_in_the_browser(demo_url: str, secretary_wav: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).exists(), "install Debian chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    caller = CallerThread(demo_url)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, *FAKE_MIC, f"--use-file-for-fake-audio-capture={secretary_wav}"])
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fr-FR")
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(demo_url + "/queue")
        page.fill("#username", "secretaire")
        page.fill("#password", "demo")
        page.keyboard.press("Enter")
        page.wait_for_url(demo_url + "/queue")
        page.wait_for_selector("#live.ok", timeout=10_000)

        caller.start()
        row = page.locator("#waiting li[data-level='emergency']").first
        row.wait_for(timeout=60_000)  # live, through the event stream
        row.get_by_role("button", name="Prendre").click()
        page.wait_for_selector("#d-take:visible", timeout=10_000)
        page.screenshot(path=str(SCREENSHOTS / "handoff-claimed.png"), full_page=True)
        page.click("#d-take")
        page.wait_for_selector("#handoff-status[data-state='connected']", timeout=15_000)
        caller.bridged.set()

        sent = _wait(page, lambda s: s["sent"] > 100, 20, "her microphone's frames sent")
        heard = _wait(page, lambda s: s["received"] > 100 and s["maxLevel"] > 0.01, 40,
                      "the caller's voice heard on her page")
        page.wait_for_selector("#d-transcript p.streamed.secretary", timeout=60_000)
        page.wait_for_selector("#d-transcript p.streamed.caller", timeout=60_000)
        said = _her_words(page, ("front desk", "breathing", "here with you"), 60)
        assert said.startswith("secrétaire"), said
        page.screenshot(path=str(SCREENSHOTS / "handoff-live-transcript.png"), full_page=True)

        page.click("#d-hold")
        page.wait_for_selector("#handoff-status[data-state='hold']", timeout=10_000)
        page.screenshot(path=str(SCREENSHOTS / "handoff-hold.png"), full_page=True)
        page.click("#d-resume")
        page.wait_for_selector("#handoff-status[data-state='connected']", timeout=10_000)

        page.click("#d-hangup")
        assert caller.done.wait(30), "the caller's line did not close after her hang-up"
        page.wait_for_function("() => window.PermanenceHandoff.stats.state === 'ended'", timeout=15_000)
        assert page.is_hidden("#d-take") and page.is_visible("#close-form")  # over; hers to close
        page.screenshot(path=str(SCREENSHOTS / "handoff-ended.png"), full_page=True)
        browser.close()
    assert caller.error is None, repr(caller.error)
    assert caller.loud_after_bridge > 25, "her microphone's audio did not reach the caller's socket"
    assert sent["sent"] > 100 and heard["maxLevel"] > 0.01
    assert errors == []


def _enqueue(db_path: Path) -> str:
    """A waiting ticket, as the agent leaves one (no live call behind it)."""
    engine = make_engine(f"sqlite:///{db_path}")
    call_id = uuid.uuid4().hex
    with Session(engine) as session:
        practice = session.exec(select(Practice).where(Practice.slug == DEMO_SLUG)).one()
        session.add(Call(id=call_id, practice_id=practice.id, caller_number="+33612345678", transport="livekit"))
        session.commit()
        practice_id = practice.id
    redis = Redis.from_url(REDIS_URL)
    HumanQueue(redis, TicketStore(engine)).enqueue(
        TicketSpec(id=call_id, practice_id=practice_id, level="urgent", reason="Fièvre chez un nourrisson",
                   caller_number="+33612345678"))
    redis.close()
    engine.dispose()
    return call_id


def test_in_livekit_mode_the_page_joins_the_callers_room_with_the_minted_token(demo: tuple[str, Path]) -> None:
    """No LiveKit server runs here: the token answer is stubbed, and the page must load livekit-client, try the
    room it was given (refused by the page's CSP and the closed port) and say so in French."""
    playwright = pytest.importorskip("playwright.sync_api")
    url, db_path = demo
    errors: list[str] = []
    asked: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MIC])
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fr-FR")
        page.on("pageerror", lambda e: errors.append(str(e)))

        def grant(route: Any) -> None:
            asked.append(route.request.url)
            route.fulfill(status=200, content_type="application/json",
                          body='{"url": "ws://127.0.0.1:9", "room": "sip-room", "identity": "secretary-1", '
                               '"token": "eyJhbGciOiJIUzI1NiJ9.e30.x"}')

        page.route("**/livekit-token", grant)
        page.goto(url + "/queue")
        page.fill("#username", "secretaire")
        page.fill("#password", "demo")
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/queue")
        page.wait_for_selector("#live.ok", timeout=10_000)
        ticket = _enqueue(db_path)
        row = page.locator(f'#waiting li[data-id="{ticket}"]')
        row.wait_for(timeout=10_000)
        row.get_by_role("button", name="Prendre").click()
        page.wait_for_selector("#d-take:visible", timeout=10_000)
        page.click("#d-take")
        page.wait_for_function("() => window.PermanenceHandoff.stats.state === 'ended'", timeout=30_000)
        assert asked and asked[0].endswith(f"/api/tickets/{ticket}/livekit-token")
        assert page.evaluate("() => typeof window.LivekitClient.Room") == "function"
        assert "LiveKit" in page.inner_text("#notice")
        browser.close()
    assert errors == []
