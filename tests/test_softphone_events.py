"""The softphone's opt-in `permanence.*` events on the media-stream socket: sent when asked, never otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent.call_runner import requested_events
from agent.caller_voice import say_mulaw
from agent.transports.media_stream import CarrierMessages, split_frames
from tests.test_gateway import SILENCE, FixedSTT, db, stack, start_server, wait_summary

pytestmark = pytest.mark.integration

__all__ = ["db"]


def test_requested_events_are_a_known_subset() -> None:
    assert requested_events({}) == frozenset()
    assert requested_events({"permanence.events": "transcript, triage,bogus"}) == {"transcript", "triage"}
    assert requested_events({"events": "transcript"}) == frozenset()


async def _call(ws: ClientConnection, carrier: CarrierMessages, params: dict[str, str],
                sentence: str) -> list[dict[str, Any]]:
    """Greeting, one caller turn, the answer, a keypad digit, hang-up; every message the server sent."""
    seen: list[dict[str, Any]] = []

    async def read_until(predicate: Any) -> None:
        async with asyncio.timeout(20):
            async for raw in ws:
                message = json.loads(raw)
                seen.append(message)
                if message["event"] == "mark":
                    await ws.send(json.dumps({"event": "mark", "streamSid": carrier.stream_sid,
                                              "mark": message["mark"]}))
                if predicate(message):
                    return

    await ws.send(carrier.start(params))
    await read_until(lambda m: m["event"] == "mark")
    for frame in split_frames(say_mulaw(sentence)) + [SILENCE] * 60:
        await ws.send(carrier.media(frame))
    await read_until(lambda m: m["event"] == "mark")
    await ws.send(carrier.dtmf("5"))
    if "transcript" in requested_events(params):
        await read_until(lambda m: m["event"] == "permanence.transcript")
    await ws.send(carrier.stop())
    with contextlib.suppress(ConnectionClosed):
        await read_until(lambda m: False)
    return seen


async def test_a_softphone_that_asks_gets_transcript_triage_and_state(db: Engine) -> None:
    server, inbox = start_server(db, stack())
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    params = {"caller": "0612345678", "permanence.events": "transcript,triage,state"}
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            seen = await _call(ws, carrier, params, "Bonjour, je voudrais un rendez-vous.")
        await wait_summary(inbox, carrier.stream_sid)
    ours = [m for m in seen if m["event"].startswith("permanence.")]
    assert all(m["streamSid"] == carrier.stream_sid for m in ours)
    transcript = [m["transcript"] for m in ours if m["event"] == "permanence.transcript"]
    assert transcript[0]["speaker"] == "agent" and "bonjour" in transcript[0]["text"].lower()
    assert {"speaker": "caller", "text": FixedSTT().text, "seq": 2} in transcript
    assert any(t["speaker"] == "dtmf" and t["text"] == "5" for t in transcript)
    [triage] = [m["triage"] for m in ours if m["event"] == "permanence.triage"]
    assert triage["seq"] == 2 and triage["level"] == "routine" and triage["escalated"] is False
    states = [m["state"] for m in ours if m["event"] == "permanence.state"]
    assert {"agent": "speaking"} in states and {"user": "speaking"} in states


async def test_an_emergency_shows_its_rules_and_the_escalation(db: Engine) -> None:
    emergency = "j'ai une douleur dans la poitrine qui serre et je n'arrive plus à respirer"
    voice = stack()
    voice.make_stt = lambda lang: FixedSTT(emergency)
    server, inbox = start_server(db, voice)
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            seen = await _call(ws, carrier, {"permanence.events": "triage"}, "J'ai mal à la poitrine.")
        await wait_summary(inbox, carrier.stream_sid)
    [triage] = [m["triage"] for m in seen if m["event"] == "permanence.triage"]
    assert triage["level"] == "emergency" and triage["action"] == "advise_15" and triage["escalated"] is True
    assert triage["rules"] and all(set(rule) == {"id", "level", "label", "evidence"} for rule in triage["rules"])
    assert not [m for m in seen if m["event"] == "permanence.transcript"]


async def test_a_carrier_that_does_not_ask_gets_only_the_twilio_protocol(db: Engine) -> None:
    server, inbox = start_server(db, stack())
    carrier = CarrierMessages("MZ" + uuid.uuid4().hex)
    with server as base:
        async with connect(f"{base}/media-stream") as ws:
            seen = await _call(ws, carrier, {"caller": "0612345678"}, "Bonjour, je voudrais un rendez-vous.")
        await wait_summary(inbox, carrier.stream_sid)
    assert {m["event"] for m in seen} <= {"media", "mark", "clear"}
