"""The human queue on real Redis and real SQLite/PostgreSQL: order, routing, races, SLA, presence, faults."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy.engine import Engine

from escalation.queue import AlreadyClaimed, HumanQueue, InvalidTransition, Secretary, TicketNotFound
from escalation.thresholds import SlaSeconds
from escalation.ticket_store import TicketSpec, TicketStore
from tests.queue_fixtures import PrivateRedis, QueueWorld, make_world, private_redis, shared_redis, world

pytestmark = pytest.mark.integration
__all__ = ["private_redis", "shared_redis", "world"]  # fixtures


def spec(world: QueueWorld, ticket_id: str, level: str = "routine", **extra: object) -> TicketSpec:
    base: dict[str, object] = {"practice_id": world.practice_ids[0], "level": level, "reason": "test",
                               "caller_number": "0612345678"}
    base.update(extra)
    return TicketSpec(id=ticket_id, **base)  # type: ignore[arg-type]


def secretary(world: QueueWorld, index: int = 0, skills: tuple[str, ...] = ("fr",)) -> Secretary:
    return Secretary(id=world.user_ids[index], practice_ids=tuple(world.practice_ids), skills=skills)


def test_enqueue_persists_then_queues_and_is_idempotent(world: QueueWorld):
    first = world.queue.enqueue(spec(world, "call-1", "urgent"))
    again = world.queue.enqueue(spec(world, "call-1", "urgent"))
    assert first.created and first.live
    assert not again.created
    assert world.store.get_required("call-1").status == "queued"
    assert [e.status for e in world.store.events("call-1")] == ["queued"]
    assert [e.id for e in world.queue.waiting_for(secretary(world))] == ["call-1"]


def test_priority_is_level_then_waiting_time(world: QueueWorld):
    for ticket_id, level in [("r-old", "routine"), ("u-old", "urgent"), ("r-new", "routine"),
                             ("e-new", "emergency"), ("u-new", "urgent")]:
        world.queue.enqueue(spec(world, ticket_id, level))
        world.clock.advance(1)
    order = [e.id for e in world.queue.waiting_for(secretary(world))]
    assert order == ["e-new", "u-old", "u-new", "r-old", "r-new"]


def test_hundred_concurrent_claims_have_exactly_one_winner(world: QueueWorld, engine: Engine):
    world.queue.enqueue(spec(world, "race", "emergency"))
    redis_url = "redis://127.0.0.1:6379/0"
    barrier = threading.Barrier(100)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        queue = HumanQueue(Redis.from_url(redis_url), TicketStore(engine), keys=world.keys, clock=world.clock)
        barrier.wait()
        try:
            queue.claim("race", world.user_ids[i % len(world.user_ids)])
            outcomes.append("won")
        except AlreadyClaimed:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The same secretary clicking twice is idempotent, so count distinct winners in the database too.
    assert Counter(outcomes)["won"] >= 1
    claimed_events = [e for e in world.store.events("race") if e.status == "claimed"]
    assert len(claimed_events) == 1
    winner = world.store.get_required("race").claimed_by
    assert Counter(outcomes)["won"] == sum(1 for i in range(100) if world.user_ids[i % 5] == winner)
    assert world.queue.waiting_for(secretary(world)) == []


def test_a_second_secretary_cannot_claim_a_held_ticket(world: QueueWorld):
    world.queue.enqueue(spec(world, "t"))
    world.queue.claim("t", world.user_ids[0])
    assert world.queue.claim("t", world.user_ids[0]).claimed_by == world.user_ids[0]  # idempotent
    with pytest.raises(AlreadyClaimed):
        world.queue.claim("t", world.user_ids[1])
    with pytest.raises(TicketNotFound):
        world.queue.claim("no-such-ticket", world.user_ids[1])


def test_routing_by_practice_and_skill(world: QueueWorld):
    world.queue.enqueue(spec(world, "english", skills=("en",)))
    world.queue.enqueue(spec(world, "other-practice", practice_id=world.practice_ids[1]))
    only_first = Secretary(id=world.user_ids[0], practice_ids=(world.practice_ids[0],), skills=("fr",))
    bilingual = Secretary(id=world.user_ids[1], practice_ids=tuple(world.practice_ids), skills=("fr", "en"))
    assert [e.id for e in world.queue.waiting_for(only_first)] == []
    assert sorted(e.id for e in world.queue.waiting_for(bilingual)) == ["english", "other-practice"]


def test_practitioners_own_secretary_first_then_the_pool(world: QueueWorld):
    own, pool = world.user_ids[0], world.user_ids[1]
    world.queue.enqueue(spec(world, "for-own", preferred_user_ids=(own,)))
    present = {own, pool}
    assert [e.id for e in world.queue.waiting_for(secretary(world, 0), present=present)] == ["for-own"]
    assert world.queue.waiting_for(secretary(world, 1), present=present) == []
    world.clock.advance(21)
    assert [e.id for e in world.queue.waiting_for(secretary(world, 1), present=present)] == ["for-own"]


def test_pool_sees_the_ticket_at_once_when_the_own_secretary_is_absent(world: QueueWorld):
    world.queue.enqueue(spec(world, "t", preferred_user_ids=(world.user_ids[0],)))
    assert [e.id for e in world.queue.waiting_for(secretary(world, 1), present={world.user_ids[1]})] == ["t"]


def test_lifecycle_is_written_to_the_database(world: QueueWorld):
    world.queue.enqueue(spec(world, "t", "urgent"))
    user = world.user_ids[0]
    world.queue.claim("t", user)
    world.queue.connected("t", user)
    closed = world.queue.close("t", user, disposition="rdv_donne")
    assert closed.status == "closed" and closed.disposition == "rdv_donne"
    assert world.queue.close("t", user, disposition="rdv_donne").status == "closed"  # idempotent
    assert [e.status for e in world.store.events("t")] == ["queued", "claimed", "connected", "closed"]
    assert world.queue.held_by(user) == []


def test_only_the_holder_closes(world: QueueWorld):
    world.queue.enqueue(spec(world, "t"))
    world.queue.claim("t", world.user_ids[0])
    with pytest.raises(InvalidTransition):
        world.queue.close("t", world.user_ids[1], disposition="x")


def test_abandoned_and_callback(world: QueueWorld):
    world.queue.enqueue(spec(world, "gone"))
    world.queue.enqueue(spec(world, "later"))
    assert world.queue.abandon("gone").status == "abandoned"
    due = datetime(2030, 1, 1, 9, tzinfo=UTC)
    ticket = world.queue.to_callback("later", due=due, number="0698765432")
    assert ticket.status == "callback" and ticket.caller_number == "0698765432"
    assert world.queue.waiting_for(secretary(world)) == []


def test_sla_breach_raises_priority_once_and_alerts(world: QueueWorld):
    world.queue.enqueue(spec(world, "routine-old", "routine"))
    world.clock.advance(5)
    world.queue.enqueue(spec(world, "urgent-new", "urgent"))
    sla = SlaSeconds(emergency=30, urgent=120, routine=600)
    assert world.queue.check_sla(sla) == []
    world.clock.advance(600)
    assert sorted(world.queue.check_sla(sla)) == ["routine-old", "urgent-new"]
    assert world.queue.check_sla(sla) == []
    order = [e.id for e in world.queue.waiting_for(secretary(world))]
    assert order == ["urgent-new", "routine-old"]
    assert world.store.get_required("routine-old").sla_breached
    events = [json.loads(f[b"event"]) for _, f in world.redis.xrange(world.keys.events_stream)]
    assert sorted(e["ticket"] for e in events if e["type"] == "sla_breached") == ["routine-old", "urgent-new"]


def test_sla_can_differ_per_practice(world: QueueWorld):
    strict, loose = world.practice_ids
    world.queue.enqueue(spec(world, "strict", "urgent", practice_id=strict))
    world.queue.enqueue(spec(world, "loose", "urgent", practice_id=loose))
    world.clock.advance(100)
    policies = {strict: SlaSeconds(emergency=30, urgent=60, routine=600),
                loose: SlaSeconds(emergency=30, urgent=300, routine=600)}
    assert world.queue.check_sla(policies.__getitem__) == ["strict"]


def test_close_keeps_the_note_with_the_ticket(world: QueueWorld):
    world.queue.enqueue(spec(world, "t"))
    world.queue.claim("t", world.user_ids[0])
    world.queue.close("t", world.user_ids[0], disposition="rappel_fait", note="rappelée à 10 h")
    assert world.store.events("t")[-1].detail == {"disposition": "rappel_fait", "note": "rappelée à 10 h"}


def test_vanished_secretary_frees_her_tickets_with_priority(world: QueueWorld):
    gone, other = world.user_ids[0], world.user_ids[1]
    world.queue.enqueue(spec(world, "held", "routine"))
    world.clock.advance(1)
    world.queue.enqueue(spec(world, "waiting", "routine"))
    world.queue.heartbeat(gone)
    world.queue.heartbeat(other)
    world.queue.claim("held", gone)
    world.clock.advance(30)
    world.queue.heartbeat(other)
    freed = world.queue.reap_vanished(timeout_s=15)
    assert freed == {gone: ["held"]}
    assert set(world.queue.present(timeout_s=15)) == {other}
    entries = world.queue.waiting_for(secretary(world, 1))
    assert [e.id for e in entries] == ["held", "waiting"]
    assert entries[0].requeued
    assert world.store.events("held")[-1].detail == {"reason": "secretary_vanished"}
    assert world.queue.claim("held", other).claimed_by == other


def test_events_are_published_for_live_pages(world: QueueWorld):
    pubsub = world.redis.pubsub()
    pubsub.subscribe(world.keys.events_channel)
    pubsub.get_message(timeout=1)
    world.queue.enqueue(spec(world, "t", "emergency"))
    world.queue.claim("t", world.user_ids[0])
    seen = []
    for _ in range(10):
        message = pubsub.get_message(timeout=1)
        if message and message["type"] == "message":
            seen.append(json.loads(message["data"])["type"])
        if len(seen) == 2:
            break
    pubsub.close()
    assert seen == ["queued", "claimed"]


def test_redis_restart_loses_nothing(engine: Engine, private_redis: PrivateRedis):
    w = make_world(engine, Redis.from_url(private_redis.url))
    w.queue.enqueue(spec(w, "waiting", "urgent"))
    w.queue.enqueue(spec(w, "held", "emergency"))
    w.queue.claim("held", w.user_ids[0])
    private_redis.kill()
    private_redis.start()
    assert w.queue.waiting_for(secretary(w)) == []
    assert w.queue.rebuild_from_database() == 2
    assert w.queue.rebuild_from_database() == 0
    assert [e.id for e in w.queue.waiting_for(secretary(w))] == ["waiting"]
    assert w.queue.held_by(w.user_ids[0]) == ["held"]
    w.queue.close("held", w.user_ids[0], disposition="transfere_15")


def test_a_dead_redis_at_enqueue_keeps_the_ticket_for_resync(engine: Engine, private_redis: PrivateRedis):
    client = Redis.from_url(private_redis.url, socket_connect_timeout=0.3, socket_timeout=0.3)
    w = make_world(engine, client)
    private_redis.kill()
    result = w.queue.enqueue(spec(w, "t", "emergency"))
    assert not result.live and result.created
    assert w.store.get_required("t").caller_number == "0612345678"
    private_redis.start()
    assert w.queue.rebuild_from_database() == 1
    assert [e.id for e in w.queue.waiting_for(secretary(w))] == ["t"]


def test_agent_killed_right_after_enqueue_leaves_the_ticket(engine: Engine, shared_redis: Redis):
    w = make_world(engine, shared_redis)
    db_url = engine.url.render_as_string(hide_password=False)
    script = textwrap.dedent(f"""
        import os, signal
        from redis import Redis
        from escalation.queue import HumanQueue
        from escalation.queue_keys import QueueKeys
        from escalation.ticket_store import TicketSpec, TicketStore
        from practice.db import make_engine
        queue = HumanQueue(Redis.from_url("redis://127.0.0.1:6379/0"), TicketStore(make_engine({db_url!r})),
                           keys=QueueKeys({w.keys.prefix!r}))
        queue.enqueue(TicketSpec(id="killed", practice_id={w.practice_ids[0]}, level="emergency",
                                 caller_number="0611223344"))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, check=False)
    assert proc.returncode == -9, proc.stderr.decode()
    try:
        assert w.store.get_required("killed").caller_number == "0611223344"
        assert [e.id for e in w.queue.waiting_for(secretary(w))] == ["killed"]
    finally:
        for key in shared_redis.scan_iter(match=w.keys.pattern()):
            shared_redis.delete(key)


def test_callback_due_is_kept(world: QueueWorld):
    world.queue.enqueue(spec(world, "cb"))
    due = datetime.now(UTC) + timedelta(hours=2)
    stored = world.queue.to_callback("cb", due=due)
    assert stored.callback_due is not None
    assert abs((stored.callback_due - due).total_seconds()) < 1
