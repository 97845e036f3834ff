"""The console app over HTTP: OpenAPI, health, the practice directory and the home page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine

from console.app import create_app
from practice.demo import seed_demo
from practice.settings import Settings

pytestmark = pytest.mark.integration

LIVE_REDIS = "redis://127.0.0.1:6379/15"
DEAD_REDIS = "redis://127.0.0.1:1/0"


def _client(engine: Engine, redis_url: str, *, demo: bool = True) -> TestClient:
    settings = Settings(_env_file=None, PERMANENCE_DEMO=demo)  # type: ignore[call-arg]
    redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return TestClient(create_app(settings=settings, engine=engine, redis=redis))


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    seed_demo(engine, today=date(2026, 11, 24))
    with _client(engine, LIVE_REDIS) as c:
        yield c


def test_openapi_docs_are_served(client: TestClient):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/practices" in paths and "/healthz" in paths


def test_health_is_ok_with_database_and_redis(client: TestClient):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_reports_a_dead_redis_as_degraded(engine: Engine):
    with _client(engine, DEAD_REDIS) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "down"


def test_practice_directory(client: TestClient):
    practices = client.get("/api/practices").json()
    assert [p["slug"] for p in practices] == ["msp-des-tilleuls"]
    practice_id = practices[0]["id"]
    detail = client.get(f"/api/practices/{practice_id}").json()
    assert {w["weekday"] for w in detail["opening_hours"]} == {0, 1, 2, 3, 4, 5}
    team = client.get(f"/api/practices/{practice_id}/practitioners").json()
    assert any(p["last_name"] == "Lefebvre" and p["consultation_types"] for p in team)


def test_unknown_practice_is_a_clear_404(client: TestClient):
    response = client.get("/api/practices/999999")
    assert response.status_code == 404
    assert "999999" in response.json()["detail"]
    assert client.get("/api/practices/not-a-number").status_code == 422


def test_home_page_lists_the_team_in_french(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200
    assert "Maison de santé des Tilleuls" in page.text
    assert "sage-femme" in page.text
    assert "Mode démonstration" in page.text
