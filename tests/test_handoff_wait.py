"""The hand-off's wait for a secretary and its callback, on fakes (no models, no sockets, no Redis)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from agent.call_state import CallState
from agent.call_store import MemoryCallStore, PracticeInfo
from agent.handoff import CallbackAgent, CallHandoff, HandoffPolicy, ListeningAgent
from escalation.triage import TriageEngine

POLICY = {"emergency_number": "15", "urgent_care_number": "116 117", "sos_medecins": "3624",
          "emergency_stays_on_line": False}


class Handle:
    def __init__(self) -> None:
        self.callbacks: list[Any] = []

    def add_done_callback(self, callback: Any) -> None:
        self.callbacks.append(callback)

    def finish(self) -> None:
        for callback in self.callbacks:
            callback(self)


class FakeSession:
    agent_state = "listening"

    def __init__(self) -> None:
        self.said: list[str] = []
        self.handles: list[Handle] = []
        self.agents: list[Any] = []
        self.interrupted = 0

    def say(self, text: str, **_: Any) -> Handle:
        self.said.append(text)
        self.handles.append(Handle())
        return self.handles[-1]

    def update_agent(self, agent: Any) -> None:
        self.agents.append(agent)

    def interrupt(self, *, force: bool = False) -> None:
        self.interrupted += 1


class Recorder:
    def __init__(self, *, present: bool = True, status: str | None = "queued", policy: dict[str, Any] | None = None,
                 wait_s: float = 0.05) -> None:
        self.callbacks: list[tuple[str, datetime, str]] = []
        self.abandoned: list[str] = []
        self.policy = HandoffPolicy(
            wait_seconds=lambda _p: wait_s, secretaries_present=lambda _p: present,
            ticket_status=lambda _t: status, to_callback=lambda t, due, n: self.callbacks.append((t, due, n)),
            after_hours=lambda _p: dict(policy if policy is not None else POLICY),
            abandon=self.abandoned.append, answer_timeout_s=0.05)


async def _handoff(recorder: Recorder, *, number: str = "+33611223344", lang: str = "fr",
                   parse: Any = None) -> tuple[CallHandoff, FakeSession]:
    call = CallState(store=MemoryCallStore(), call_id="c1", stream_sid="MZ1", practice=PracticeInfo(1, "Cabinet"),
                     language=lang, caller_number=number)
    session = FakeSession()
    handoff = CallHandoff(call=call, session=session, send=_no_send, clear_output=lambda: None,  # type: ignore[arg-type]
                          hangup=asyncio.Event(), make_stt=lambda _l: None, vad=None,  # type: ignore[arg-type,return-value]
                          triage=TriageEngine.default(), policy=recorder.policy, parse_when=parse)
    return handoff, session


async def _no_send(_: str) -> None:
    return None


async def _until(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.mark.unit
async def test_nobody_picks_up_the_agent_offers_a_callback_with_the_callers_number() -> None:
    recorder = Recorder()
    handoff, session = await _handoff(recorder)
    handoff.ticket_enqueued("c1", "handoff", "routine")
    await _until(lambda: session.agents)
    [agent] = session.agents
    assert isinstance(agent, CallbackAgent) and "06 11 22 33 44" in agent._offer
    assert handoff.human_on_line  # no silence prompts while the offer is open
    await handoff.callback_answer("", None)  # silence: the callback is booked anyway
    [(ticket, due, number)] = recorder.callbacks
    assert ticket == "c1" and number == "+33611223344" and due > datetime.now(UTC)
    assert "116 117" in session.said[-1] and "3624" in session.said[-1] and "dès que possible" in session.said[-1]
    session.handles[-1].finish()
    assert handoff.hangup.is_set()


@pytest.mark.unit
async def test_the_best_time_the_caller_gives_is_the_callbacks_due_time() -> None:
    recorder = Recorder()
    when = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    handoff, session = await _handoff(recorder, parse=lambda text, ref, lang: when if "demain" in text else None)
    handoff.ticket_enqueued("c1", "handoff", "routine")
    await _until(lambda: session.agents)
    await handoff.callback_answer("demain matin à dix heures", 0.9)
    assert recorder.callbacks[0][1] == when
    assert "25/11 vers 10 h 00" in session.said[-1]
    assert [t.speaker for t in handoff.call.turns] == ["caller"]


@pytest.mark.unit
async def test_after_hours_or_nobody_present_the_agent_does_not_wait() -> None:
    for recorder, kind in ((Recorder(wait_s=30), "callback"), (Recorder(present=False, wait_s=30), "handoff")):
        handoff, session = await _handoff(recorder)
        handoff.ticket_enqueued("c1", kind, "routine")
        await _until(lambda s=session: s.agents, timeout=3)
        assert isinstance(session.agents[0], CallbackAgent)
        handoff.call_ended()


@pytest.mark.unit
async def test_an_emergency_nobody_took_is_told_to_dial_15_now_and_becomes_a_callback() -> None:
    recorder = Recorder()
    handoff, session = await _handoff(recorder)
    handoff.ticket_enqueued("c1", "handoff", "emergency")
    await _until(lambda: recorder.callbacks)
    assert "appelez le 15" in session.said[-1] and not session.agents
    session.handles[-1].finish()
    assert handoff.hangup.is_set()


@pytest.mark.unit
async def test_an_emergency_with_the_agent_staying_on_the_line_keeps_waiting() -> None:
    recorder = Recorder(policy={**POLICY, "emergency_stays_on_line": True})
    handoff, session = await _handoff(recorder)
    handoff.ticket_enqueued("c1", "handoff", "emergency")
    await _until(lambda: len(session.said) >= 2)
    assert all("Je reste en ligne" in line for line in session.said)
    assert not recorder.callbacks and not handoff.hangup.is_set()
    handoff.call_ended()
    await _until(lambda: recorder.callbacks)  # the caller hung up on an emergency: someone calls back


@pytest.mark.unit
async def test_a_claimed_ticket_gets_one_more_wait_before_the_offer() -> None:
    recorder = Recorder(status="claimed", wait_s=0.3)
    handoff, session = await _handoff(recorder)
    handoff.ticket_enqueued("c1", "handoff", "urgent")
    await asyncio.sleep(0.45)
    assert not session.agents
    await _until(lambda: session.agents)


@pytest.mark.unit
async def test_a_caller_who_hangs_up_while_waiting_abandons_a_routine_ticket() -> None:
    recorder = Recorder(wait_s=30)
    handoff, _ = await _handoff(recorder)
    handoff.ticket_enqueued("c1", "handoff", "routine")
    await _until(lambda: handoff.ticket is not None)
    handoff.call_ended()
    await _until(lambda: recorder.abandoned == ["c1"])
    assert not recorder.callbacks


@pytest.mark.unit
async def test_while_a_human_has_the_call_the_agent_only_listens() -> None:
    heard: list[tuple[str, float | None]] = []
    agent = ListeningAgent(lambda text, confidence: heard.append((text, confidence)), "fr")
    from livekit.agents import llm

    message = llm.ChatMessage(role="user", content=["il respire"])
    with pytest.raises(llm.StopResponse):
        await agent.on_user_turn_completed(llm.ChatContext(), message)
    assert heard == [("il respire", None)]


@pytest.mark.unit
async def test_a_failing_queue_still_ends_with_a_callback_offer() -> None:
    recorder = Recorder()

    def down(_: object) -> bool:
        raise ConnectionError("redis down")

    recorder.policy = HandoffPolicy(**{**recorder.policy.__dict__, "secretaries_present": down, "ticket_status": down,
                                       "after_hours": down})
    handoff, session = await _handoff(recorder)
    handoff.ticket_enqueued("c1", "handoff", "routine")
    await _until(lambda: session.agents)
    await handoff.callback_answer("", None)
    assert recorder.callbacks and "15" in session.said[-1]


@pytest.mark.integration
def test_the_callback_is_kept_in_the_database_when_redis_is_down(tmp_path: Any) -> None:
    from redis import Redis

    from agent.live_calls import queue_policy
    from escalation.queue import HumanQueue
    from escalation.threshold_store import ThresholdStore
    from escalation.ticket_store import TicketSpec, TicketStore
    from practice.db import make_engine, migrate
    from practice.models import Ticket

    engine = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
    migrate(engine)
    store = TicketStore(engine)
    store.create(TicketSpec(id="t-down", practice_id=None, level="routine", reason="Demande"))
    queue = HumanQueue(Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), store)
    policy = queue_policy(queue, ThresholdStore(engine), engine)
    due = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    policy.to_callback("t-down", due, "+33611223344")
    from sqlmodel import Session

    with Session(engine) as session:
        ticket = session.get(Ticket, "t-down")
        assert ticket is not None and ticket.status == "callback" and ticket.caller_number == "+33611223344"
        assert ticket.callback_due is not None
    engine.dispose()
