"""Fuzz every operation of the OpenAPI with schemathesis against the ASGI app, logged in as admin: never a 5xx."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from redis import Redis
from schemathesis import GenerationMode
from schemathesis.schemas import APIOperation
from sqlmodel import Session

from practice.db import make_engine, migrate
from practice.models import Appointment, Call, Patient, Practitioner, Turn
from tests.admin_fixtures import login_client
from tests.console_fixtures import ConsoleWorld, make_console
from tests.queue_fixtures import SHARED_REDIS, drop_prefix

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 30
NEVER_ENDING = "/api/events"  # an event stream: its answer never ends, so it cannot be fuzzed this way


@dataclass
class FuzzTarget:
    world: ConsoleWorld
    cookies: dict[str, str]
    csrf: str
    statuses: Counter[int] = field(default_factory=Counter)


def _seed(world: ConsoleWorld) -> None:
    """Real rows, so fuzzed ids sometimes hit something (1, 2...)."""
    with Session(world.engine) as session:
        doc = Practitioner(practice_id=world.practice_ids[0], first_name="Anne", last_name="Roy", profession="médecin")
        patient = Patient(first_name="Paul", last_name="Durand", birth_date=date(1990, 5, 4), phone="0611223344")
        session.add_all([doc, patient])
        session.flush()
        session.add(Appointment(practitioner_id=doc.id or 0, patient_id=patient.id or 0,
                                practice_id=world.practice_ids[0], starts_at=datetime(2026, 12, 1, 9),
                                ends_at=datetime(2026, 12, 1, 9, 20)))
        call = Call(practice_id=world.practice_ids[0], caller_number="+33611223344", patient_id=patient.id)
        session.add(call)
        session.flush()
        session.add(Turn(call_id=call.id, seq=1, speaker="caller", text="Bonjour"))
        session.commit()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'permanence.db'}")
    migrate(engine)
    redis = Redis.from_url(SHARED_REDIS)
    world = make_console(engine, redis, secretaries=1)
    _seed(world)
    with TestClient(world.app, follow_redirects=False) as client:
        csrf = login_client(client, world.username("admin"))
        cookies = dict(client.cookies)
    yield FuzzTarget(world, cookies, csrf)
    drop_prefix(redis, world.keys)
    redis.close()
    engine.dispose()


def operations(app: object) -> list[APIOperation[Any, Any, Any, Any]]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    return [op for op in found if op.path != NEVER_ENDING]


def fuzz(operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, target: FuzzTarget) -> str | None:
    """Run bounded examples of one operation; the shrunk failing request, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call(headers={"X-CSRF-Token": target.csrf}, cookies=target.cookies)
        target.statuses[response.status_code] += 1
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}: "
            f"{response.status_code} {response.text[:300]}")

    try:
        run()
    except Unsatisfiable:  # nothing invalid can be sent to an operation without inputs
        return None
    except Exception as exc:  # a server exception surfaces here through the test client: also a failure
        return f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_error(target: FuzzTarget, mode: GenerationMode) -> None:
    ops = operations(target.world.app)
    assert len(ops) > 40
    failures = [f for f in (fuzz(op, mode, target) for op in ops) if f]
    assert failures == [], "\n".join(failures)
    print(f"fuzz ({mode.value}): {sum(target.statuses.values())} requests, statuses {dict(target.statuses)}")
    assert sum(n for status, n in target.statuses.items() if status < 300) > 0  # the admin's session worked
