"""The /softphone page: open in demo mode, behind the console login otherwise, scoped to the user's practices."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine

from console.app import create_app
from console.media_admission import MediaStreamAdmission
from tests.console_fixtures import CSRF_INPUT, PASSWORD, ConsoleWorld, console_settings, make_console
from tests.queue_fixtures import drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

TOKEN = re.compile(r'<form id="call-form"[^>]*data-token="([^"]+)"')


@pytest.fixture
def world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis)
    yield w
    drop_prefix(shared_redis, w.keys)


def _login(client: TestClient, username: str) -> None:
    match = CSRF_INPUT.search(client.get("/login").text)
    assert match
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": match.group(1),
                                         "next": "/softphone"})
    assert answer.status_code == 303 and answer.headers["location"] == "/softphone"


def test_outside_demo_mode_an_anonymous_visitor_is_sent_to_the_login(world: ConsoleWorld) -> None:
    with TestClient(world.app, follow_redirects=False) as client:
        answer = client.get("/softphone")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/softphone"


def test_a_logged_in_secretary_calls_only_her_practices(world: ConsoleWorld) -> None:
    with TestClient(world.app, follow_redirects=False) as client:
        _login(client, world.username("sec0"))
        page = client.get("/softphone")
    assert page.status_code == 200
    assert f"cab-0-{world.tag}" in page.text and f"cab-1-{world.tag}" not in page.text
    assert 'value=""' in page.text.split('id="caller"')[1].split(">")[0], "no demo number outside demo mode"
    token = TOKEN.search(page.text)
    assert token, "the page carries the token its calls need"
    admission = MediaStreamAdmission.from_settings(world.app.state.settings)
    assert not admission({}) and admission({"token": html.unescape(token.group(1))})


def test_in_demo_mode_the_page_is_open_and_its_scripts_are_served(engine: Engine, shared_redis: Redis) -> None:  # noqa: F811
    app = create_app(settings=console_settings(demo=True), engine=engine, redis=shared_redis)
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/softphone")
        assert page.status_code == 200
        assert "Appeler l'accueil" in html.unescape(page.text) and "Mode démonstration" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "microphone=(self)" in page.headers["permissions-policy"]
        for asset in ("audio-core.js", "softphone.js", "softphone.css"):
            assert client.get(f"/static/console/softphone/{asset}").status_code == 200
