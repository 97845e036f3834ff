"""Every route of the app × every role against a declared policy (undeclared routes fail); CSRF; headers; tenancy."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.engine import Engine

from practice.db import make_engine, migrate
from tests.admin_fixtures import login_client
from tests.console_fixtures import ConsoleWorld, make_console
from tests.queue_fixtures import SHARED_REDIS, drop_prefix, shared_redis  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

ROLES = ("anonymous", "secretary", "manager", "admin")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
VIEW = frozenset({"secretary", "manager", "admin"})
MANAGE = frozenset({"manager", "admin"})
ADMIN = frozenset({"admin"})
SECRETARY = frozenset({"secretary"})


@dataclass(frozen=True)
class Policy:
    """kind: public (no login), api (401 / 403), page (303 to /login / 403), redirect (always 303),
    stream (api whose allowed answer never ends: only refusals are checked), websocket, static."""

    kind: str
    roles: frozenset[str] = frozenset()


PUBLIC = Policy("public")
STATIC = Policy("static")


def api(roles: frozenset[str]) -> Policy:
    return Policy("api", roles)


def page(roles: frozenset[str]) -> Policy:
    return Policy("page", roles)


POLICY: dict[tuple[str, str], Policy] = {
    # public: the login, health, API docs, and the practice directory (address, hours, team: public information)
    ("GET", "/"): PUBLIC,
    ("GET", "/language/{code}"): Policy("redirect"),
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("HEAD", "/openapi.json"): PUBLIC,
    ("GET", "/api/practices"): PUBLIC,
    ("GET", "/api/practices/{practice_id}"): PUBLIC,
    ("GET", "/api/practices/{practice_id}/practitioners"): PUBLIC,
    ("MOUNT", "/static/console"): STATIC,
    ("MOUNT", "/static/swagger-ui"): STATIC,
    # the carriers' media stream: no console login; the start event's token is checked (tests/test_gateway.py)
    ("WS", "/media-stream"): Policy("websocket"),
    # the secretary's console
    ("GET", "/api/me"): api(VIEW),
    ("GET", "/api/queue"): api(VIEW),
    ("GET", "/api/tickets/{ticket_id}"): api(VIEW),
    ("GET", "/api/events"): Policy("stream", VIEW),
    ("POST", "/api/tickets/{ticket_id}/claim"): api(SECRETARY),
    ("POST", "/api/tickets/{ticket_id}/release"): api(SECRETARY),
    ("POST", "/api/tickets/{ticket_id}/close"): api(SECRETARY),
    ("POST", "/api/presence"): api(SECRETARY),
    ("GET", "/api/tickets/{ticket_id}/livekit-token"): api(SECRETARY),
    # the secretary's live audio with the caller: only the ticket's holder (session + CSRF + same origin)
    ("WS", "/ws/handoff/{ticket_id}"): Policy("websocket", SECRETARY),
    ("GET", "/queue"): page(VIEW),
    ("GET", "/softphone"): page(VIEW),
    # the manager's console (thresholds, replay, reports)
    ("GET", "/manager"): Policy("redirect"),
    ("GET", "/manager/thresholds"): page(MANAGE),
    ("GET", "/manager/reports"): page(MANAGE),
    ("GET", "/manager/calls/{call_id}"): page(MANAGE),
    ("POST", "/manager/calls/{call_id}/review"): page(MANAGE),
    ("GET", "/api/manager/calls/{call_id}/review"): api(MANAGE),
    ("PUT", "/api/manager/calls/{call_id}/review"): api(MANAGE),
    ("GET", "/api/manager/reports"): api(MANAGE),
    ("GET", "/api/manager/reports/{table}.csv"): api(MANAGE),
    ("GET", "/api/manager/thresholds"): api(MANAGE),
    ("GET", "/api/manager/thresholds/fields"): api(MANAGE),
    ("POST", "/api/manager/thresholds/drafts"): api(MANAGE),
    ("PUT", "/api/manager/thresholds/drafts/{config_id}"): api(MANAGE),
    ("POST", "/api/manager/thresholds/replay"): api(MANAGE),
    ("POST", "/api/manager/thresholds/rollback"): api(MANAGE),
    ("POST", "/api/manager/thresholds/validate"): api(MANAGE),
    ("POST", "/api/manager/thresholds/{config_id}/activate"): api(MANAGE),
    # administration API: the directory for managers and admins, new practices and users for admins only
    ("GET", "/api/admin/practices"): api(MANAGE),
    ("POST", "/api/admin/practices"): api(ADMIN),
    ("GET", "/api/admin/practices/{practice_id}"): api(MANAGE),
    ("PATCH", "/api/admin/practices/{practice_id}"): api(MANAGE),
    ("GET", "/api/admin/practices/{practice_id}/opening-hours"): api(MANAGE),
    ("PUT", "/api/admin/practices/{practice_id}/opening-hours"): api(MANAGE),
    ("GET", "/api/admin/practices/{practice_id}/closures"): api(MANAGE),
    ("POST", "/api/admin/practices/{practice_id}/closures"): api(MANAGE),
    ("DELETE", "/api/admin/closures/{closure_id}"): api(MANAGE),
    ("GET", "/api/admin/practices/{practice_id}/practitioners"): api(MANAGE),
    ("POST", "/api/admin/practices/{practice_id}/practitioners"): api(MANAGE),
    ("GET", "/api/admin/practitioners/{practitioner_id}"): api(MANAGE),
    ("PATCH", "/api/admin/practitioners/{practitioner_id}"): api(MANAGE),
    ("GET", "/api/admin/practitioners/{practitioner_id}/consultation-types"): api(MANAGE),
    ("POST", "/api/admin/practitioners/{practitioner_id}/consultation-types"): api(MANAGE),
    ("PUT", "/api/admin/consultation-types/{type_id}"): api(MANAGE),
    ("DELETE", "/api/admin/consultation-types/{type_id}"): api(MANAGE),
    ("GET", "/api/admin/practitioners/{practitioner_id}/availability"): api(MANAGE),
    ("PUT", "/api/admin/practitioners/{practitioner_id}/availability"): api(MANAGE),
    ("GET", "/api/admin/practitioners/{practitioner_id}/exceptions"): api(MANAGE),
    ("POST", "/api/admin/practitioners/{practitioner_id}/exceptions"): api(MANAGE),
    ("DELETE", "/api/admin/exceptions/{exception_id}"): api(MANAGE),
    ("GET", "/api/admin/users"): api(ADMIN),
    ("POST", "/api/admin/users"): api(ADMIN),
    ("GET", "/api/admin/users/{user_id}"): api(ADMIN),
    ("PATCH", "/api/admin/users/{user_id}"): api(ADMIN),
    ("POST", "/api/admin/users/{user_id}/password"): api(ADMIN),
    # GDPR: audit log for managers and admins; retention changes, purge and patients' data for admins only
    ("GET", "/api/admin/audit"): api(MANAGE),
    ("GET", "/api/admin/audit/export"): api(MANAGE),
    ("GET", "/api/admin/practices/{practice_id}/retention"): api(MANAGE),
    ("PUT", "/api/admin/practices/{practice_id}/retention"): api(ADMIN),
    ("POST", "/api/admin/retention/purge"): api(ADMIN),
    ("POST", "/api/admin/patients/search"): api(ADMIN),
    ("GET", "/api/admin/patients/{patient_id}/export"): api(ADMIN),
    ("POST", "/api/admin/patients/{patient_id}/erase"): api(ADMIN),
    # administration pages
    ("GET", "/admin"): page(MANAGE),
    ("POST", "/admin/practices"): page(ADMIN),
    ("GET", "/admin/practices/{practice_id}"): page(MANAGE),
    ("POST", "/admin/practices/{practice_id}"): page(MANAGE),
    ("POST", "/admin/practices/{practice_id}/hours"): page(MANAGE),
    ("POST", "/admin/practices/{practice_id}/closures"): page(MANAGE),
    ("POST", "/admin/closures/{closure_id}/delete"): page(MANAGE),
    ("POST", "/admin/practices/{practice_id}/practitioners"): page(MANAGE),
    ("POST", "/admin/practices/{practice_id}/retention"): page(ADMIN),
    ("GET", "/admin/practitioners/{practitioner_id}"): page(MANAGE),
    ("POST", "/admin/practitioners/{practitioner_id}"): page(MANAGE),
    ("POST", "/admin/practitioners/{practitioner_id}/types"): page(MANAGE),
    ("POST", "/admin/consultation-types/{type_id}/delete"): page(MANAGE),
    ("POST", "/admin/practitioners/{practitioner_id}/availability"): page(MANAGE),
    ("POST", "/admin/practitioners/{practitioner_id}/exceptions"): page(MANAGE),
    ("POST", "/admin/exceptions/{exception_id}/delete"): page(MANAGE),
    ("GET", "/admin/users"): page(ADMIN),
    ("POST", "/admin/users"): page(ADMIN),
    ("POST", "/admin/users/{user_id}"): page(ADMIN),
    ("POST", "/admin/users/{user_id}/password"): page(ADMIN),
    ("GET", "/admin/audit"): page(MANAGE),
    ("GET", "/admin/patients"): page(ADMIN),
    ("POST", "/admin/patients"): page(ADMIN),
    ("POST", "/admin/patients/{patient_id}/erase"): page(ADMIN),
}

PARAM = re.compile(r"\{([^}]+)\}")
SECURITY_HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff"}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route, including those of included routers, mounts and websockets."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        kind = type(context.original_route).__name__
        if kind == "Mount":
            found.add(("MOUNT", str(context.path)))
        elif "WebSocket" in kind:
            found.add(("WS", str(context.path)))
        else:
            found |= {(m, str(context.path)) for m in (context.methods or set())}
    return found


def concrete(path: str) -> str:
    """A path with every parameter replaced by something that does not exist (no side effect on real rows)."""
    return PARAM.sub(lambda m: "999999" if m.group(1).endswith("_id") and "ticket" not in m.group(1)
                     and "call" not in m.group(1) else uuid.UUID(int=0).hex, path)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    """One SQLite world for the whole matrix (the requests change nothing: every id in them is unknown)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'permanence.db'}")
    migrate(engine)
    redis = Redis.from_url(SHARED_REDIS)
    w = make_console(engine, redis, secretaries=2)
    yield w
    drop_prefix(redis, w.keys)
    redis.close()
    engine.dispose()


@pytest.fixture
def own_world(engine: Engine, shared_redis: Redis) -> Iterator[ConsoleWorld]:  # noqa: F811
    w = make_console(engine, shared_redis, secretaries=2)
    yield w
    drop_prefix(shared_redis, w.keys)


@dataclass
class Session:
    cookies: dict[str, str]
    csrf: str


@pytest.fixture(scope="module")
def sessions(world: ConsoleWorld) -> dict[str, Session]:
    return log_in_all(world)


def log_in_all(world: ConsoleWorld) -> dict[str, Session]:
    found: dict[str, Session] = {}
    for role, short in (("anonymous", ""), ("secretary", "sec0"), ("manager", "manager"), ("admin", "admin")):
        with TestClient(world.app, follow_redirects=False) as c:
            token = login_client(c, world.username(short)) if short else _anonymous_csrf(c)
            found[role] = Session(cookies=dict(c.cookies), csrf=token)
    return found


def _anonymous_csrf(c: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
    return match.group(1) if match else ""


def call(app: FastAPI, session: Session, method: str, path: str, *, csrf: bool = True) -> Any:
    """One request as this role: JSON `{}` on API changes, a form with the CSRF field on page changes."""
    headers = {"X-CSRF-Token": session.csrf} if csrf else {}
    c = TestClient(app, follow_redirects=False, cookies=session.cookies)
    if method in UNSAFE and not path.startswith("/api/"):
        data = {"csrf_token": session.csrf} if csrf else {}
        return c.request(method, path, data=data)
    return c.request(method, path, headers=headers, json={} if method in UNSAFE else None)


def expected_refusal(policy: Policy, role: str) -> int | None:
    """The status this role must get, or None when it is let through."""
    if role in policy.roles:
        return None
    if role == "anonymous":
        return 303 if policy.kind == "page" else 401
    return 403


def test_every_route_is_in_the_policy_table(world: ConsoleWorld):
    missing = sorted(app_routes(world.app) - POLICY.keys())
    assert not missing, f"routes with no declared access policy (add them to POLICY): {missing}"


def test_the_policy_table_has_no_stale_entries(world: ConsoleWorld):
    stale = sorted(POLICY.keys() - app_routes(world.app))
    assert not stale, f"POLICY names routes the app no longer has: {stale}"


HTTP_ROUTES = sorted(k for k, v in POLICY.items() if v.kind in {"api", "page", "stream", "public", "redirect"})


@pytest.mark.parametrize(("method", "path"), HTTP_ROUTES, ids=[f"{m} {p}" for m, p in HTTP_ROUTES])
def test_route_x_role(world: ConsoleWorld, sessions: dict[str, Session], method: str, path: str):
    if (method, path) not in app_routes(world.app):
        pytest.skip("route not in this build of the app")
    policy = POLICY[(method, path)]
    for role in ROLES:
        refusal = expected_refusal(policy, role) if policy.kind in {"api", "page", "stream"} else None
        if refusal is None and policy.kind == "stream":
            continue  # an allowed event stream never ends
        answer = call(world.app, sessions[role], method, concrete(path))
        where = f"{method} {path} as {role}"
        assert answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:300]}"
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers.get(header) == value, f"{where}: header {header} missing"
        assert "content-security-policy" in answer.headers, where
        _check(policy, role, refusal, answer, where)


def _check(policy: Policy, role: str, refusal: int | None, answer: Any, where: str) -> None:
    if policy.kind == "redirect":
        assert answer.status_code == 303, where
    elif refusal is not None:
        assert answer.status_code == refusal, f"{where}: expected {refusal}, got {answer.status_code}"
        if refusal == 303:
            assert answer.headers["location"].startswith("/login"), where
    elif policy.kind != "public":
        assert answer.status_code not in {401, 403}, f"{where}: refused ({answer.status_code}) {answer.text[:200]}"
        assert not answer.headers.get("location", "").startswith("/login"), f"{where}: sent to the login page"


UNSAFE_ROUTES = sorted(k for k, v in POLICY.items() if k[0] in UNSAFE and v.kind in {"api", "page", "public"})


def test_every_change_needs_the_csrf_token(world: ConsoleWorld, sessions: dict[str, Session]):
    """Forms and JSON alike: without the session's token, a change is refused (403) even for an allowed role."""
    for method, path in UNSAFE_ROUTES:
        policy = POLICY[(method, path)]
        role = next((r for r in ("admin", "manager", "secretary") if r in policy.roles), "admin")
        answer = call(world.app, sessions[role], method, concrete(path), csrf=False)
        assert answer.status_code == 403, f"{method} {path} as {role} without CSRF: {answer.status_code}"
        assert "CSRF" in answer.text, f"{method} {path}: refused for another reason: {answer.text[:200]}"


def test_a_secretary_sees_only_the_practices_she_serves(world: ConsoleWorld, sessions: dict[str, Session]):
    mine, other = world.enqueue(0, reason="Renouvellement"), world.enqueue(1, reason="Fièvre")
    sec0 = sessions["secretary"]
    me = call(world.app, sec0, "GET", "/api/me").json()
    assert me["practice_ids"] == [world.practice_ids[0]]
    waiting = [t["id"] for t in call(world.app, sec0, "GET", "/api/queue").json()["waiting"]]
    assert waiting == [mine]
    assert call(world.app, sec0, "GET", f"/api/tickets/{other}").status_code == 404
    assert call(world.app, sec0, "POST", f"/api/tickets/{other}/claim").status_code == 404
    assert call(world.app, sec0, "GET", f"/api/tickets/{mine}").status_code == 200
    manager = sessions["manager"]
    seen = {t["id"] for t in call(world.app, manager, "GET", "/api/queue").json()["waiting"]}
    assert seen == {mine, other}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_disabled_user_loses_access_at_once(own_world: ConsoleWorld):
    world = own_world
    sessions = log_in_all(world)
    admin = sessions["admin"]
    user_id = world.users["sec0"]
    with TestClient(world.app, cookies=admin.cookies) as c:
        answer = c.patch(f"/api/admin/users/{user_id}", json={"active": False}, headers={"X-CSRF-Token": admin.csrf})
        assert answer.status_code == 200, answer.text
    assert call(world.app, sessions["secretary"], "GET", "/api/queue").status_code == 401


def test_console_websockets_refuse_anyone_but_their_roles(world: ConsoleWorld, sessions: dict[str, Session]):
    """A console WebSocket (not the carriers' media stream) refuses the handshake to anonymous and other roles."""
    from starlette.websockets import WebSocketDisconnect

    sockets = [path for (method, path), policy in POLICY.items() if method == "WS" and policy.roles]
    for path in sockets:
        if ("WS", path) not in app_routes(world.app):
            continue
        for role in ROLES:
            if role in POLICY[("WS", path)].roles:
                continue
            c = TestClient(world.app, cookies=sessions[role].cookies)
            url = f"{concrete(path)}?csrf={sessions[role].csrf}"
            with pytest.raises(WebSocketDisconnect), c.websocket_connect(url) as ws:
                ws.receive_text()


@pytest.mark.parametrize("path", ["/static/console/base.css", "/no-such-page", "/api/no-such-route",
                                  "/static/console/admin/admin.css"])
def test_security_headers_on_static_files_and_errors(world: ConsoleWorld, path: str):
    answer = TestClient(world.app).get(path)
    for header, value in SECURITY_HEADERS.items():
        assert answer.headers.get(header) == value, f"{path}: {header}"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
