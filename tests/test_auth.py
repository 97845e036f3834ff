"""Console login, session cookie, CSRF, lock-out, roles on the queue routes, security headers, secret key."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.app import create_app
from console.auth import SESSION_COOKIE, MissingSecretKey
from practice.models import Call, Turn
from tests.console_fixtures import CSRF_INPUT, PASSWORD, ConsoleWorld, console_settings, make_console
from tests.live_server import free_port
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis)
    yield w
    drop_prefix(shared_redis, w.keys)


def _client(world: ConsoleWorld, *, https: bool = False) -> TestClient:
    return TestClient(world.app, base_url="https://testserver" if https else "http://testserver",
                      follow_redirects=False)


def _csrf(client: TestClient) -> str:
    match = CSRF_INPUT.search(client.get("/login").text)
    assert match
    return match.group(1)


def _login(client: TestClient, user: str, password: str = PASSWORD) -> object:
    return client.post("/login", data={"username": user, "password": password, "csrf_token": _csrf(client)})


def _logged_in(world: ConsoleWorld, short: str) -> TestClient:
    client = _client(world)
    assert _login(client, world.username(short)).status_code == 303  # type: ignore[attr-defined]
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    return client


def test_login_sets_a_signed_httponly_lax_cookie_and_redirects(world: ConsoleWorld):
    with _client(world) as client:
        answer = client.post("/login", data={"username": world.username("sec0"), "password": PASSWORD,
                                             "csrf_token": _csrf(client)})
        assert answer.status_code == 303 and answer.headers["location"] == "/queue"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http in this test
        me = client.get("/api/me").json()
        assert me["username"] == world.username("sec0") and me["practice_ids"] == [world.practice_ids[0]]
        assert client.get("/queue").status_code == 200


def test_cookie_is_secure_over_https(world: ConsoleWorld):
    with _client(world, https=True) as client:
        answer = _login(client, world.username("sec0"))
        assert "Secure" in answer.headers["set-cookie"]  # type: ignore[attr-defined]


def test_wrong_password_and_unknown_user_are_refused_alike(world: ConsoleWorld):
    with _client(world) as client:
        wrong = _login(client, world.username("sec0"), "nope")
        unknown = _login(client, "nobody-here", "nope")
        for answer in (wrong, unknown):
            assert answer.status_code == 401  # type: ignore[attr-defined]
            assert "Identifiant ou mot de passe incorrect." in answer.text  # type: ignore[attr-defined]
        assert client.get("/api/me").status_code == 401


def test_lock_out_after_five_failures_even_with_the_right_password(world: ConsoleWorld):
    with _client(world) as client:
        for _ in range(5):
            assert _login(client, world.username("sec0"), "bad").status_code == 401  # type: ignore[attr-defined]
        locked = _login(client, world.username("sec0"))
        assert locked.status_code == 429  # type: ignore[attr-defined]
        assert "Trop de tentatives" in locked.text  # type: ignore[attr-defined]
        assert _login(client, world.username("sec2") if "sec2" in world.users else world.username("manager")
                      ).status_code == 303  # type: ignore[attr-defined]  # another account is not locked


def test_password_spraying_from_one_address_is_limited(world: ConsoleWorld):
    world.app.state.login_limiter.max_per_address = 3
    with _client(world) as client:
        for name in ("alice", "bob", "carol"):
            assert _login(client, name, "guess").status_code == 401  # type: ignore[attr-defined]
        assert _login(client, world.username("sec0")).status_code == 429  # type: ignore[attr-defined]


def test_csrf_is_required_on_forms_and_json_posts(world: ConsoleWorld):
    with _client(world) as client:
        client.get("/login")
        no_token = client.post("/login", data={"username": world.username("sec0"), "password": PASSWORD})
        assert no_token.status_code == 403
    ticket = world.enqueue(0)
    with _logged_in(world, "sec0") as client:
        token = client.headers.pop("X-CSRF-Token")
        assert client.post(f"/api/tickets/{ticket}/claim").status_code == 403
        assert client.post(f"/api/tickets/{ticket}/claim", headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert client.post("/logout").status_code == 403
        assert client.post(f"/api/tickets/{ticket}/claim", headers={"X-CSRF-Token": token}).status_code == 200


def test_roles_on_queue_routes(world: ConsoleWorld):
    ticket = world.enqueue(0)
    with _client(world) as anonymous:
        assert anonymous.get("/api/queue").status_code == 401
        assert anonymous.get("/api/events").status_code == 401
        assert anonymous.get(f"/api/tickets/{ticket}").status_code == 401
        assert anonymous.get("/queue").headers["location"] == "/login?next=/queue"
    for short in ("manager", "admin"):
        with _logged_in(world, short) as watcher:
            assert watcher.get("/api/queue").status_code == 200
            assert watcher.get(f"/api/tickets/{ticket}").status_code == 200
            for path in (f"/api/tickets/{ticket}/claim", f"/api/tickets/{ticket}/release"):
                assert watcher.post(path).status_code == 403
            assert watcher.post(f"/api/tickets/{ticket}/close", json={"disposition": "resolved"}).status_code == 403
            assert watcher.post("/api/presence", json={"status": "available"}).status_code == 403


def test_tampered_cookie_is_anonymous(world: ConsoleWorld):
    with _logged_in(world, "sec0") as client:
        value = client.cookies[SESSION_COOKIE]
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert client.get("/api/me").status_code == 401
        other_key = URLSafeTimedSerializer("guessed-key", salt="permanence-session")
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, str(other_key.dumps({"c": "x", "u": world.users["admin"]})))
        assert client.get("/api/me").status_code == 401


def test_logout_ends_the_session(world: ConsoleWorld):
    with _logged_in(world, "sec0") as client:
        token = client.headers["X-CSRF-Token"]
        answer = client.post("/logout", data={"csrf_token": token}, headers={"X-CSRF-Token": ""})
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
        assert client.get("/api/me").status_code == 401


def test_security_headers_on_pages_and_api(world: ConsoleWorld):
    with _logged_in(world, "sec0") as client:
        for path in ("/", "/queue", "/api/queue", "/login"):
            headers = client.get(path).headers
            assert headers["x-frame-options"] == "DENY"
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin"
            assert "unsafe-inline" not in headers["content-security-policy"]
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
        page = client.get("/queue").text
        assert "<script>" not in page and "<style>" not in page and " style=" not in page


def test_no_patient_data_in_logs(world: ConsoleWorld, caplog: pytest.LogCaptureFixture):
    ticket = world.enqueue(0, reason="Douleur thoracique")
    with Session(world.engine) as session:
        session.add(Call(id=ticket, practice_id=world.practice_ids[0], caller_number="0611223344"))
        session.flush()
        session.add(Turn(call_id=ticket, seq=1, speaker="caller", text="Je suis Gaston Lagaffe, né le 1er mars"))
        session.commit()
    caplog.set_level(logging.DEBUG)
    with _logged_in(world, "sec0") as client:
        assert client.get(f"/api/tickets/{ticket}").status_code == 200
        assert client.post(f"/api/tickets/{ticket}/claim").status_code == 200
        assert client.post(f"/api/tickets/{ticket}/close", json={"disposition": "resolved",
                                                                   "note": "Gaston rappellera"}).status_code == 200
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in ("Gaston", "Lagaffe", "0611223344", "06 11 22 33 44", "Douleur thoracique"):
        assert secret not in logged


def test_app_refuses_to_build_without_secret_outside_demo(engine: Engine):
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    with pytest.raises(MissingSecretKey, match="PERMANENCE_SECRET_KEY"):
        create_app(settings=console_settings(secret=""), engine=engine, redis=redis)
    create_app(settings=console_settings(demo=True, secret=""), engine=engine, redis=redis)  # random key


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_server_refuses_to_start_without_secret_outside_demo(engine: Engine, tmp_path: Path):
    exe = Path(sys.executable).parent / "permanence"
    env = {**os.environ, "PERMANENCE_SECRET_KEY": "", "PERMANENCE_DEMO": "false",
           "PERMANENCE_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    done = subprocess.run([str(exe), "serve", "--port", str(free_port())], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "PERMANENCE_SECRET_KEY" in done.stderr and "refuse de démarrer" in done.stderr


def test_csp_lets_pages_reach_the_configured_livekit_server_only():
    from console.headers import SecurityHeaders

    async def app(scope, receive, send):  # pragma: no cover - never called
        raise AssertionError

    assert "connect-src 'self';" in SecurityHeaders(app).strict_csp
    csp = SecurityHeaders(app, livekit_url="wss://lk.example.org:7880").strict_csp
    assert "connect-src 'self' wss://lk.example.org:7880 https://lk.example.org:7880;" in csp
    assert "connect-src 'self';" in SecurityHeaders(app, livekit_url="not a url").strict_csp
