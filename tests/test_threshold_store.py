"""Integration tests of the versioned threshold configuration, on SQLite and on real PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from escalation.threshold_store import (
    ConfigNotFound,
    ConfigStateError,
    ThresholdStore,
    diff_values,
)
from escalation.thresholds import DEFAULT_THRESHOLDS, InvalidThresholds
from practice.models import AuditLog, Practice, ThresholdConfig, User

pytestmark = pytest.mark.integration

ALICE = "alice"


@pytest.fixture
def store(engine: Engine) -> ThresholdStore:
    return ThresholdStore(engine)


@pytest.fixture
def practice_id(engine: Engine) -> int:
    return _add_practice(engine, "cabinet-des-lilas")


@pytest.fixture
def manager_id(engine: Engine) -> int:
    with Session(engine) as session:
        user = User(username="alice", full_name="Alice Martin", role="manager", password_hash="x")
        session.add(user)
        session.commit()
        assert user.id is not None
        return user.id


def _add_practice(engine: Engine, slug: str) -> int:
    with Session(engine) as session:
        practice = Practice(name=slug.replace("-", " ").title(), slug=slug)
        session.add(practice)
        session.commit()
        assert practice.id is not None
        return practice.id


def _id(row: ThresholdConfig) -> int:
    assert row.id is not None
    return row.id


def _count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(sa.func.count()).select_from(model)).one())


def _statuses(store: ThresholdStore, practice_id: int | None) -> dict[int, str]:
    return {row.version: row.status for row in store.history(practice_id)}


# --- fallbacks -----------------------------------------------------------------------------------------


def test_built_in_defaults_when_nothing_is_configured(store: ThresholdStore, practice_id: int) -> None:
    row, thresholds = store.active(practice_id)
    assert row is None and thresholds == DEFAULT_THRESHOLDS


def test_group_default_then_practice_override(store: ThresholdStore, practice_id: int) -> None:
    group = store.create_draft(None, {"max_call_seconds": 600}, actor=ALICE)
    store.activate(_id(group), actor=ALICE)
    row, thresholds = store.active(practice_id)
    assert row is not None and row.practice_id is None and thresholds.max_call_seconds == 600

    own = store.create_draft(practice_id, {"max_call_seconds": 300}, actor=ALICE)
    store.activate(_id(own), actor=ALICE)
    row, thresholds = store.active(practice_id)
    assert row is not None and row.id == _id(own) and thresholds.max_call_seconds == 300
    assert store.active(None)[1].max_call_seconds == 600


def test_a_draft_is_not_active(store: ThresholdStore, practice_id: int) -> None:
    store.create_draft(practice_id, {"max_silences": 4}, actor=ALICE)
    row, thresholds = store.active(practice_id)
    assert row is None and thresholds.max_silences == DEFAULT_THRESHOLDS.max_silences


# --- lifecycle -------------------------------------------------------------------------------------------


def test_draft_active_archived(store: ThresholdStore, practice_id: int, manager_id: int) -> None:
    v1 = store.create_draft(
        practice_id, {"max_misunderstandings": 3}, note="plus patient", actor_user_id=manager_id, actor=ALICE
    )
    assert (v1.version, v1.status, v1.created_by) == (1, "draft", manager_id)
    assert v1.values["max_misunderstandings"] == 3
    assert v1.values["max_call_seconds"] == DEFAULT_THRESHOLDS.max_call_seconds  # defaults filled

    store.activate(_id(v1), reason="essai", actor_user_id=manager_id, actor=ALICE)
    v2 = store.create_draft(practice_id, {"max_misunderstandings": 1}, actor_user_id=manager_id, actor=ALICE)
    assert v2.version == 2
    activated = store.activate(_id(v2), reason="trop d'attente", actor_user_id=manager_id, actor=ALICE)
    assert activated.status == "active" and activated.activated_at is not None
    assert _statuses(store, practice_id) == {2: "active", 1: "archived"}
    assert store.active(practice_id)[1].max_misunderstandings == 1


def test_versions_increase_per_practice(store: ThresholdStore, engine: Engine, practice_id: int) -> None:
    other = _add_practice(engine, "maison-de-sante-du-port")
    assert [store.create_draft(practice_id, {}, actor=ALICE).version for _ in range(3)] == [1, 2, 3]
    assert store.create_draft(other, {}, actor=ALICE).version == 1
    assert store.create_draft(None, {}, actor=ALICE).version == 1
    assert store.create_draft(None, {}, actor=ALICE).version == 2


def test_update_draft_replaces_values_and_keeps_the_version(store: ThresholdStore, practice_id: int) -> None:
    draft = store.create_draft(practice_id, {"max_silences": 4}, actor=ALICE)
    updated = store.update_draft(_id(draft), {"max_silences": 5, "distress_sensitivity": "high"}, note="v2",
                                 actor=ALICE)
    assert (updated.version, updated.note) == (draft.version, "v2")
    stored = store.get(_id(draft))
    assert stored.values["max_silences"] == 5 and stored.values["distress_sensitivity"] == "high"


def test_active_or_archived_versions_cannot_be_edited(store: ThresholdStore, practice_id: int) -> None:
    v1 = store.create_draft(practice_id, {}, actor=ALICE)
    store.activate(_id(v1), actor=ALICE)
    with pytest.raises(ConfigStateError, match="active"):
        store.update_draft(_id(v1), {"max_silences": 3}, actor=ALICE)
    v2 = store.create_draft(practice_id, {}, actor=ALICE)
    store.activate(_id(v2), actor=ALICE)
    with pytest.raises(ConfigStateError, match="archived"):
        store.activate(_id(v1), actor=ALICE)


def test_activating_the_active_version_is_a_no_op(store: ThresholdStore, engine: Engine, practice_id: int) -> None:
    v1 = store.create_draft(practice_id, {}, actor=ALICE)
    store.activate(_id(v1), actor=ALICE)
    audits = _count(engine, AuditLog)
    assert store.activate(_id(v1), actor=ALICE).status == "active"
    assert _count(engine, AuditLog) == audits


def test_unknown_ids_and_versions(store: ThresholdStore, practice_id: int) -> None:
    with pytest.raises(ConfigNotFound):
        store.activate(999_999, actor=ALICE)
    with pytest.raises(ConfigNotFound, match="version 7"):
        store.rollback(practice_id, 7, actor=ALICE)


# --- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"max_misunderstandings": 0}, "max_misunderstandings", "supérieur ou égal à 1"),
        ({"max_call_seconds": 99999}, "max_call_seconds", "inférieur ou égal à 1800"),
        ({"distress_sensitivity": "extreme"}, "distress_sensitivity", "valeurs possibles"),
        ({"sla_seconds": {"emergency": 300, "urgent": 60}}, "sla_seconds", "doivent croître"),
        ({"max_silense": 3}, "max_silense", "réglage inconnu"),
    ],
)
def test_invalid_values_are_refused_and_nothing_is_written(
    store: ThresholdStore, engine: Engine, practice_id: int, values: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidThresholds) as caught:
        store.create_draft(practice_id, values, actor=ALICE)
    assert caught.value.errors[0]["field"] == field
    assert message in caught.value.errors[0]["message"]
    assert _count(engine, ThresholdConfig) == 0
    assert _count(engine, AuditLog) == 0


def test_invalid_update_leaves_the_draft_untouched(store: ThresholdStore, engine: Engine, practice_id: int) -> None:
    draft = store.create_draft(practice_id, {"max_silences": 4}, actor=ALICE)
    audits = _count(engine, AuditLog)
    with pytest.raises(InvalidThresholds, match="low_confidence_score"):
        store.update_draft(_id(draft), {"low_confidence_score": 7}, actor=ALICE)
    assert store.get(_id(draft)).values["max_silences"] == 4
    assert _count(engine, AuditLog) == audits


# --- audit -----------------------------------------------------------------------------------------------


def test_every_change_is_audited(store: ThresholdStore, practice_id: int, manager_id: int) -> None:
    v1 = store.create_draft(
        practice_id, {"max_silences": 4}, note="relances", actor_user_id=manager_id, actor=ALICE
    )
    store.update_draft(_id(v1), {"max_silences": 3}, actor_user_id=manager_id, actor=ALICE)
    store.activate(_id(v1), reason="trop de silences", actor_user_id=manager_id, actor=ALICE)
    v2 = store.create_draft(practice_id, {"max_silences": 5}, actor_user_id=manager_id, actor=ALICE)
    store.activate(_id(v2), reason="test", actor_user_id=manager_id, actor=ALICE)
    store.rollback(practice_id, 1, reason="retour", actor_user_id=manager_id, actor=ALICE)

    trail = list(reversed(store.audit_trail(practice_id)))
    assert [a.action for a in trail] == [
        "threshold.create_draft", "threshold.update_draft", "threshold.activate",
        "threshold.create_draft", "threshold.activate", "threshold.rollback",
    ]
    assert all(a.actor_user_id == manager_id and a.actor == "alice" and a.at is not None for a in trail)
    created, updated, activated = trail[0], trail[1], trail[2]
    assert created.detail["changes"] == {"max_silences": {"before": 2, "after": 4}}
    assert updated.detail["changes"] == {"max_silences": {"before": 4, "after": 3}}
    assert activated.detail["reason"] == "trop de silences"
    assert activated.detail["changes"] == {"max_silences": {"before": 2, "after": 3}}
    assert activated.detail["previous_version"] is None
    assert trail[4].detail["previous_version"] == 1
    rollback = trail[5].detail
    assert rollback["rolled_back_to"] == 1 and rollback["previous_version"] == 2
    assert rollback["changes"] == {"max_silences": {"before": 5, "after": 3}}


def test_diff_values_flattens_nested_settings() -> None:
    before = DEFAULT_THRESHOLDS.model_dump(mode="json")
    after = {**before, "sla_seconds": {**before["sla_seconds"], "urgent": 90}}
    assert diff_values(before, after) == {"sla_seconds.urgent": {"before": 120, "after": 90}}


# --- rollback --------------------------------------------------------------------------------------------


def test_rollback_creates_a_new_active_version(store: ThresholdStore, practice_id: int) -> None:
    for silences in (3, 4, 5):
        store.activate(_id(store.create_draft(practice_id, {"max_silences": silences}, actor=ALICE)), actor=ALICE)
    restored = store.rollback(practice_id, 1, reason="la v3 transférait trop", actor=ALICE)
    assert (restored.version, restored.status, restored.values["max_silences"]) == (4, "active", 3)
    assert "version 1" in restored.note
    assert _statuses(store, practice_id) == {4: "active", 3: "archived", 2: "archived", 1: "archived"}
    assert store.active(practice_id)[1].max_silences == 3


def test_rollback_of_the_group_default(store: ThresholdStore) -> None:
    store.activate(_id(store.create_draft(None, {"max_call_seconds": 900}, actor=ALICE)), actor=ALICE)
    store.activate(_id(store.create_draft(None, {"max_call_seconds": 200}, actor=ALICE)), actor=ALICE)
    restored = store.rollback(None, 1, actor=ALICE)
    assert restored.practice_id is None and restored.version == 3
    assert store.active(None)[1].max_call_seconds == 900


# --- concurrency -----------------------------------------------------------------------------------------


def _race(workers: list[Callable[[], Any]]) -> list[BaseException]:
    """Run `workers` at the same instant in threads; returns the exceptions they raised."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


@pytest.mark.parametrize("practice", ["own", "group"])
def test_concurrent_activations_leave_exactly_one_active(
    store: ThresholdStore, engine: Engine, practice_id: int, practice: str
) -> None:
    target = practice_id if practice == "own" else None
    drafts = [store.create_draft(target, {"max_silences": 1 + i % 5}, actor=ALICE) for i in range(8)]
    errors = _race([partial(store.activate, _id(d), actor=ALICE) for d in drafts])
    assert errors == []
    statuses = _statuses(store, target)
    assert list(statuses.values()).count("active") == 1
    assert list(statuses.values()).count("archived") == 7
    activations = [a for a in store.audit_trail(target) if a.action == "threshold.activate"]
    assert len(activations) == 8
    previous = sorted(a.detail["previous_version"] or 0 for a in activations)
    assert len(set(previous)) == 8  # each activation archived a different predecessor: a true sequence


def test_concurrent_drafts_get_distinct_versions(store: ThresholdStore, practice_id: int) -> None:
    errors = _race([lambda: store.create_draft(practice_id, {}, actor=ALICE) for _ in range(8)])
    assert errors == []
    assert sorted(_statuses(store, practice_id)) == list(range(1, 9))
