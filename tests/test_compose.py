"""compose.yaml: it parses, needs its secrets, the console's command really serves, the worker's command runs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_every_service_has_a_healthcheck():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "console", "livekit", "sip", "agent"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, name


def test_secrets_are_required_from_the_environment():
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "PERMANENCE_SECRET_KEY", "LIVEKIT_API_KEY",
                   "LIVEKIT_API_SECRET"):
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} must be required, not defaulted"
    for service in COMPOSE["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "SECRET" in key:
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), f"{key} has a default value"


def test_livekit_services_share_the_required_api_key_and_secret():
    services = COMPOSE["services"]
    for name in ("sip", "agent"):
        env = services[name]["environment"]
        assert env["LIVEKIT_API_KEY"].startswith("${LIVEKIT_API_KEY:?"), name
        assert env["LIVEKIT_API_SECRET"].startswith("${LIVEKIT_API_SECRET:?"), name
    assert "${LIVEKIT_API_KEY:?" in services["livekit"]["environment"]["LIVEKIT_CONFIG"]
    assert services["agent"]["environment"]["LIVEKIT_URL"] == "ws://livekit:7880"
    assert services["agent"]["depends_on"]["livekit"] == {"condition": "service_healthy"}


def test_agent_worker_command_runs(tmp_path: Path):
    """The worker service's command exists in this distribution: `python -m agent start --help` answers."""
    command = COMPOSE["services"]["agent"]["command"]
    assert command == ["python", "-m", "agent", "start"]
    env = {**os.environ, "PERMANENCE_DATA_DIR": str(tmp_path), "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}
    done = subprocess.run([sys.executable, *command[1:], "--help"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--url" in done.stdout and "LIVEKIT_URL" in done.stdout


def test_dockerfile_copies_only_what_exists():
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # other stages' files are built, not ours
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_browser_sdk_is_fetched_from_the_registry_not_committed():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "npm pack" in dockerfile and "livekit-client" in dockerfile
    assert "npm pack" in (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "console/static/vendor/" in (ROOT / ".gitignore").read_text(encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_console_command_serves_healthz_on_postgres_and_redis(postgres_url: str, tmp_path: Path):
    command = COMPOSE["services"]["console"]["command"]
    assert command[:2] == ["permanence", "serve"]
    port = _free_port()
    args = [*command[2:]]
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = str(port)
    exe = Path(sys.executable).parent / "permanence"
    env = {**os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": "redis://127.0.0.1:6379/15",
           "PERMANENCE_DATA_DIR": str(tmp_path), "PERMANENCE_SECRET_KEY": "test-secret-key-not-for-production"}
    proc = subprocess.Popen([str(exe), "serve", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        status = _wait_for_health(f"http://127.0.0.1:{port}/healthz", proc)
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _wait_for_health(url: str, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"`permanence serve` exited early:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except OSError:
            time.sleep(0.3)
    pytest.fail("`permanence serve` did not answer /healthz within 60 s")
