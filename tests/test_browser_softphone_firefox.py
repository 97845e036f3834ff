"""The browser softphone in headless Firefox ESR (WebDriver BiDi), with a PulseAudio microphone that speaks.

Playwright's Firefox needs its own patched build (not installable here), and its BiDi mode needs commands
Firefox ESR lacks, so this module drives Debian's firefox-esr over WebDriver BiDi directly. Firefox's Web
Audio needs a sound server: a private PulseAudio with two null sinks, "speaker" (what Firefox plays) and
"mic" (whose monitor is the default microphone, fed the caller's sentence by paplay).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.browser import SCREENSHOTS
from tests.live_server import running_server

pytestmark = pytest.mark.browser

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
TOOLS = ("pulseaudio", "pactl", "paplay", "espeak-ng", "sox")
SENTENCE = "Bonjour, je voudrais prendre un rendez-vous avec le docteur Martin."
BASE_PREFS: dict[str, Any] = {
    "media.autoplay.default": 0, "media.autoplay.block-webaudio": False, "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False, "toolkit.telemetry.reportingpolicy.firstRun": False,
}
ALLOW_MIC = {"media.navigator.permission.disabled": True, "media.navigator.streams.fake": False}
DENY_MIC = {"media.navigator.permission.disabled": False, "permissions.default.microphone": 2}

if FIREFOX is None or any(shutil.which(tool) is None for tool in TOOLS):
    pytest.skip("firefox-esr, pulseaudio (pactl, paplay), espeak-ng and sox are needed", allow_module_level=True)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("firefox-demo")
    env = {"PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": "", "REDIS_URL": "redis://127.0.0.1:6379/11",
           "PERMANENCE_SECRET_KEY": ""}
    with running_server("demo", env=env) as url:
        yield url


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private PulseAudio server; yields the environment that points clients at it."""
    runtime = tmp_path_factory.mktemp("pulse")
    runtime.chmod(0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_SERVER": f"unix:{runtime}/pulse/native"}
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
         "--load=module-native-protocol-unix", "--load=module-null-sink sink_name=speaker",
         "--load=module-null-sink sink_name=mic"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0, 15)
        subprocess.run(["pactl", "set-default-sink", "speaker"], env=env, check=True)
        subprocess.run(["pactl", "set-default-source", "mic.monitor"], env=env, check=True)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def speaking_mic(pulse: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], None]]:
    """Starts the caller's sentence (1 s silence, sentence, 40 s silence) on the "mic" sink when called."""
    raw, wav = tmp_path / "raw.wav", tmp_path / "caller.wav"
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "150", "-w", str(raw), SENTENCE], check=True)
    subprocess.run(["sox", str(raw), "-D", "-r", "48000", "-b", "16", "-c", "1", str(wav), "pad", "1.0", "40.0"],
                   check=True)
    players: list[subprocess.Popen[bytes]] = []

    def speak() -> None:
        players.append(subprocess.Popen(["paplay", "--device=mic", str(wav)], env=pulse))

    try:
        yield speak
    finally:
        for player in players:
            player.terminate()
            player.wait(timeout=10)


def _wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError("condition not met")


# --- a minimal WebDriver BiDi client -----------------------------------------------------------------------------


class Bidi:
    """Just enough WebDriver BiDi: navigate, evaluate, screenshot."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.context = ""

    async def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        mine = self.next_id
        await self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == mine:
                if message.get("type") == "error":
                    raise RuntimeError(f"{method}: {message.get('error')} {message.get('message')}")
                result: dict[str, Any] = message["result"]
                return result

    async def open(self, url: str) -> None:
        await self.command("session.new", {"capabilities": {}})
        tree = await self.command("browsingContext.getTree", {})
        self.context = tree["contexts"][0]["context"]
        await self.command("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    async def js(self, expression: str) -> Any:
        result = await self.command("script.evaluate", {"expression": expression, "target": {"context": self.context},
                                                        "awaitPromise": True, "userActivation": True})
        if result.get("type") != "success":
            raise RuntimeError(f"script failed: {result.get('exceptionDetails', {}).get('text')}")
        return _value(result["result"])

    async def screenshot(self, path: Path) -> None:
        shot = await self.command("browsingContext.captureScreenshot", {"context": self.context})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def wait(self, expression: str, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.25)
        raise AssertionError(f"{what} within {timeout} s; stats {await self.js(STATS)}")


def _value(remote: dict[str, Any]) -> Any:
    return remote.get("value") if remote.get("type") in ("string", "number", "boolean") else None


STATS = "JSON.stringify(window.permanenceSoftphone.stats)"


@asynccontextmanager
async def firefox(url: str, prefs: dict[str, Any], env: dict[str, str], profile: Path) -> AsyncIterator[Bidi]:
    """Headless Firefox on a fresh profile, with its BiDi session opened on `url`."""
    profile.mkdir(parents=True, exist_ok=True)
    lines = [f'user_pref("{key}", {json.dumps(value)});' for key, value in {**BASE_PREFS, **prefs}.items()]
    (profile / "user.js").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert FIREFOX is not None
    proc = subprocess.Popen([FIREFOX, "--headless", "--no-remote", "--profile", str(profile),
                             "--remote-debugging-port=0"], env={**env, "HOME": str(profile)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        endpoint = await asyncio.wait_for(asyncio.to_thread(_bidi_endpoint, proc), 60)
        async with connect(endpoint + "/session", max_size=None) as ws:
            client = Bidi(ws)
            await client.open(url)
            yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _bidi_endpoint(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    for line in proc.stderr:
        found = re.search(r"WebDriver BiDi listening on (ws://\S+)", line)
        if found:
            _drain_stderr(proc)
            return found.group(1)
    raise RuntimeError("firefox exited before its BiDi endpoint was ready")


def _drain_stderr(proc: subprocess.Popen[str]) -> None:
    """Keep reading Firefox's stderr so a full pipe never blocks it."""
    assert proc.stderr is not None
    stream = proc.stderr
    threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()


# --- tests ---------------------------------------------------------------------------------------------------


async def test_a_caller_speaks_to_the_agent_from_firefox(demo_url: str, pulse: dict[str, str],
                                                       speaking_mic: Callable[[], None], tmp_path: Path) -> None:
    async with firefox(demo_url + "/softphone", ALLOW_MIC, pulse, tmp_path / "profile") as ff:
        assert await ff.js("document.querySelector('h1').textContent") == "Appeler l'accueil"
        await ff.js("document.getElementById('call').click(), 1")
        await ff.wait("window.permanenceSoftphone.stats.mediaIn > 25 && window.permanenceSoftphone.stats.playedMs > 0",
                      30, "the agent's greeting audio, played")
        speaking_mic()  # the caller talks over the greeting (barge-in), then waits for the answer
        assert await ff.js("window.permanenceSoftphone.stats.mediaOut > 0")
        greeting = await ff.wait("(document.querySelector('#transcript li.agent') || {}).textContent", 10,
                                 "the greeting in the transcript")
        assert "Maison de santé des Tilleuls" in greeting
        caller = await ff.wait("(document.querySelector('#transcript li.caller') || {}).textContent", 45,
                               "the caller's words in the transcript")
        assert caller.startswith("Vous :") and len(caller) > len("Vous : ") + 5
        await ff.wait("!!document.querySelector('#triage li.decision')", 10, "a triage decision")
        await ff.wait("window.permanenceSoftphone.stats.marksOut >= 1", 30, "a mark echoed after playback")
        await ff.js("document.querySelector(\"#keypad button[data-digit='5']\").click(), 1")
        await ff.wait("!!document.querySelector('#transcript li.dtmf')", 10, "the keypad digit in the transcript")
        await ff.screenshot(SCREENSHOTS / "softphone-firefox-call.png")
        await ff.js("document.getElementById('hangup').click(), 1")
        status = await ff.wait("document.getElementById('status').textContent === 'Appel terminé.' && 'ended'", 10,
                               "the end of the call")
        assert status == "ended" and await ff.js("document.getElementById('error').hidden")


async def test_a_refused_microphone_in_firefox_gets_the_french_message(demo_url: str, pulse: dict[str, str],
                                                                      tmp_path: Path) -> None:
    async with firefox(demo_url + "/softphone", DENY_MIC, pulse, tmp_path / "profile") as ff:
        await ff.js("document.getElementById('call').click(), 1")
        message = await ff.wait("document.getElementById('error').textContent", 15, "the microphone error")
        assert message.startswith("Accès au micro refusé.")
        assert await ff.js("document.getElementById('status').textContent") == "Appel impossible."
        assert await ff.js("!document.getElementById('call').disabled && document.getElementById('hangup').disabled")
        await ff.screenshot(SCREENSHOTS / "softphone-firefox-microphone-denied.png")


async def test_without_any_audio_output_firefox_says_so_instead_of_hanging(demo_url: str, tmp_path: Path) -> None:
    """No sound server at all: Firefox's fake microphone works, but its AudioContext never starts."""
    empty = tmp_path / "no-pulse"
    empty.mkdir(mode=0o700)
    env = {key: value for key, value in os.environ.items() if key not in ("PULSE_SERVER", "XDG_RUNTIME_DIR")}
    env["XDG_RUNTIME_DIR"] = str(empty)
    prefs = {"media.navigator.permission.disabled": True, "media.navigator.streams.fake": True}
    async with firefox(demo_url + "/softphone", prefs, env, tmp_path / "profile") as ff:
        await ff.js("document.getElementById('call').click(), 1")
        message = await ff.wait("document.getElementById('error').textContent", 15, "the audio output error")
        assert message.startswith("Le son ne démarre pas")
        assert await ff.js("window.permanenceSoftphone.stats.mediaOut") == 0
