"""The real-LLM path against a local OpenAI-compatible server: tools streamed as deltas, slow and failing servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import prompts
from agent.dialog.engine import DialogEngine
from agent.llm_choice import FallbackDialog, RemoteLLMConfig, dialog_factory, make_remote_llm
from agent.reception_agent import ReceptionServices
from agent.tools.context import CallContext, MemoryTickets
from practice.db import make_engine, migrate
from practice.models import Appointment
from practice.settings import Settings
from tests.openai_stub import Call, OpenAIStub, Reply, echo_tool_output, stub_in_thread
from tests.reception_harness import Demo, Transcript, run_script, seed

pytestmark = pytest.mark.integration

TOOLS = {"find_slots", "book_appointment", "find_appointments", "cancel_appointment", "confirm_appointment",
         "reschedule_appointment", "practice_info", "leave_message", "request_human"}
BOOKING = ["Bonjour, je voudrais un rendez-vous avec le docteur Martin", "le premier", "Jeanne Dupuis",
           "le douze mars mille neuf cent quarante-huit", "oui"]
MARTIN_FIRST_SLOT = datetime(2026, 11, 24, 10, 10)  # the demo's first free slot of Dr Martin, Tuesday 10:00
FAST = 0.5  # first-token and chunk timeouts of these tests (production default: 4 s)


@pytest.fixture
def demo(tmp_path: Any) -> Iterator[Demo]:
    engine = make_engine(f"sqlite:///{tmp_path / 'llm.db'}")
    migrate(engine)
    yield seed(engine)
    engine.dispose()


def config(base_url: str, *, max_failures: int = 2, timeout: float = FAST) -> RemoteLLMConfig:
    return RemoteLLMConfig(base_url=base_url, model="stub-model", api_key="test-key", first_token_timeout_s=timeout,
                           chunk_timeout_s=timeout, max_failures=max_failures)


PATIENT = 5.0  # where the model must answer: room for a cold first request on a busy test machine


class Dialogs:
    """Installs the remote dialog on the harness's services and keeps each call's FallbackDialog."""

    def __init__(self, cfg: RemoteLLMConfig, *, break_engine: bool = False) -> None:
        self.cfg, self.break_engine = cfg, break_engine
        self.made: list[FallbackDialog] = []

    def hook(self, services: ReceptionServices) -> None:
        remote = make_remote_llm(self.cfg)

        def make(ctx: CallContext, engine: DialogEngine) -> FallbackDialog:
            if self.break_engine:
                engine.respond = _broken  # type: ignore[method-assign,assignment]
            dialog = FallbackDialog(remote, engine, ctx=ctx, config=self.cfg)
            self.made.append(dialog)
            return dialog

        services.make_dialog = make

    @property
    def dialog(self) -> FallbackDialog:
        assert len(self.made) == 1
        return self.made[0]


def _broken(_: Any) -> Any:
    raise RuntimeError("offline engine down")


def booking_script(body: dict[str, Any]) -> Reply:
    """A model that books with Dr Martin: find_slots, then book_appointment, saying each tool's sentence."""
    if body["messages"][-1]["role"] == "tool":
        return Reply(text=echo_tool_output(body))
    users = sum(m["role"] == "user" for m in body["messages"])
    if users == 1:
        return Reply(calls=[Call("find_slots", {"practitioner": "docteur Martin"})])
    if users == 2:
        return Reply(text="Très bien. Quels sont vos nom, prénom et date de naissance ?")
    if users == 3:
        return Reply(calls=[Call("book_appointment", {"slot_number": 1, "last_name": "Dupuis", "first_name": "Jeanne",
                                                      "birth_date": "1948-03-12", "reason": ""})])
    return Reply(text="Au revoir.")


def booked(demo: Demo, last_name: str) -> Appointment:
    rows = [a for a in demo.appointments_of(last_name) if a.status == "booked"]
    assert len(rows) == 1, rows
    return rows[0]


def assert_martin_booked(demo: Demo, t: Transcript) -> None:
    appt = booked(demo, "Dupuis")
    assert appt.practitioner_id == demo.practitioner_id("Martin")
    assert appt.starts_at == MARTIN_FIRST_SLOT and appt.call_id == t.reception.ctx.call_id
    assert t.outcome == "booked"


def refused_url() -> str:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# --- (a) the remote model books through the tools -----------------------------------------------------------


async def test_remote_model_books_with_streamed_tool_calls(demo: Demo) -> None:
    async with OpenAIStub(booking_script) as stub:
        dialogs = Dialogs(config(stub.base_url, timeout=PATIENT))
        lines = ["Bonjour, je voudrais un rendez-vous avec le docteur Martin", "le premier",
                 "Jeanne Dupuis, née le 12 mars 1948"]
        t = await run_script(demo, lines, tickets=MemoryTickets(), services_hook=dialogs.hook)
    assert_martin_booked(demo, t)
    assert [name for name, _ in t.tool_calls] == ["find_slots", "book_appointment"]
    assert dialogs.dialog.remote_turns == 5 and dialogs.dialog.offline_turns == 0
    assert len(stub.requests) == 5  # find_slots, its sentence, a question, book_appointment, its sentence
    assert any("10:10" in line or "10 h 10" in line for line in t.agent_lines)


# --- (d) what the model receives ------------------------------------------------------------------------------


async def test_request_carries_instructions_context_and_tool_schemas(demo: Demo) -> None:
    async with OpenAIStub(booking_script) as stub:
        dialogs = Dialogs(config(stub.base_url, timeout=PATIENT))
        await run_script(demo, BOOKING[:1], tickets=MemoryTickets(), services_hook=dialogs.hook)
    first = stub.requests[0]
    assert first["model"] == "stub-model" and first["stream"] is True
    assert stub.headers[0]["Authorization"] == "Bearer test-key"
    messages = first["messages"]
    assert messages[0]["role"] in ("system", "developer")
    assert prompts.text("instructions", "fr") in str(messages[0]["content"])
    assert "Maison de santé" in str(messages[1]["content"]) and "2026-11-24" in str(messages[1]["content"])
    assert messages[-1] == {"role": "user", "content": BOOKING[0]}
    tools = {tool["function"]["name"]: tool["function"] for tool in first["tools"]}
    assert set(tools) == TOOLS
    assert "practitioner" in tools["find_slots"]["parameters"]["properties"]
    assert {"slot_number", "last_name", "first_name", "birth_date"} <= set(
        tools["book_appointment"]["parameters"]["properties"])
    assert tools["find_slots"]["description"].startswith("Find up to three free appointment slots")
    follow_up = stub.requests[1]["messages"]  # the tool's result goes back to the model
    assert follow_up[-1]["role"] == "tool" and "10" in follow_up[-1]["content"]


async def test_english_call_gets_english_instructions_and_context(demo: Demo) -> None:
    async with OpenAIStub(lambda body: Reply(text="Sure, which doctor would you like to see?")) as stub:
        dialogs = Dialogs(config(stub.base_url, timeout=PATIENT))
        t = await run_script(demo, ["Hello, I'd like to book an appointment"], lang="en", tickets=MemoryTickets(),
                             services_hook=dialogs.hook)
    messages = stub.requests[0]["messages"]
    assert prompts.text("instructions", "en") in str(messages[0]["content"])
    assert "Now: Tuesday 2026-11-24 10:00" in str(messages[1]["content"])
    assert t.agent_lines == ["Sure, which doctor would you like to see?"]


# --- (b) a slow model: the offline engine answers, the turn stays short ------------------------------------


async def test_slow_model_offline_engine_answers_in_bounded_time(demo: Demo) -> None:
    async with OpenAIStub(lambda body: Reply(text="trop tard", delay_s=10)) as stub:
        dialogs = Dialogs(config(stub.base_url, max_failures=2))
        t = await run_script(demo, BOOKING, tickets=MemoryTickets(), services_hook=dialogs.hook)
    assert_martin_booked(demo, t)
    assert len(stub.requests) == 2  # two slow turns in a row, then the rest of the call stays offline
    dialog = dialogs.dialog
    assert not dialog.remote_enabled and dialog.remote_turns == 0 and not dialog.gave_up
    assert all("trop tard" not in line for line in t.agent_lines)
    assert max(t.turn_seconds[:2]) < FAST + 1.5, t.turn_seconds  # the engine answers right after the timeout
    assert max(t.turn_seconds[2:]) < 1.0, t.turn_seconds


async def test_model_stalling_mid_answer_offline_engine_finishes_the_turn(demo: Demo) -> None:
    async with OpenAIStub(lambda body: Reply(text="Je regarde. ", stall_after_text_s=10)) as stub:
        dialogs = Dialogs(config(stub.base_url, max_failures=1))
        t = await run_script(demo, BOOKING, tickets=MemoryTickets(), services_hook=dialogs.hook)
    assert_martin_booked(demo, t)
    assert t.agent_lines[0].startswith("Je regarde.")  # what the model said before it stalled...
    assert t.tool_calls[0][0] == "find_slots" and "10" in t.agent_lines[1]  # ...then the engine took over
    assert len(stub.requests) == 1 and t.turn_seconds[0] < FAST + 1.5


# --- (c) a failing model: HTTP 500, then connection refused --------------------------------------------------


async def test_http_500_then_refused_offline_engine_continues(demo: Demo) -> None:
    async with OpenAIStub(lambda body: Reply(status=500)) as stub:
        dialogs = Dialogs(config(stub.base_url, max_failures=100))

        def before(index: int, _: Transcript) -> None:
            if index == 2:  # from the third turn on, nobody listens on the model's port
                dialogs.made[0].remote = make_remote_llm(config(refused_url()))

        t = await run_script(demo, BOOKING, tickets=MemoryTickets(), services_hook=dialogs.hook, before_line=before)
    assert_martin_booked(demo, t)
    dialog = dialogs.dialog
    assert dialog.remote_turns == 0 and dialog.offline_turns >= len(BOOKING) and dialog.failures >= len(BOOKING)
    assert len(stub.requests) >= 2
    assert max(t.turn_seconds) < 3.0, t.turn_seconds


async def test_model_lost_mid_booking_engine_finishes_it(demo: Demo) -> None:
    def script(body: dict[str, Any]) -> Reply:
        users = sum(m["role"] == "user" for m in body["messages"])
        return booking_script(body) if users == 1 else Reply(status=502)  # slots offered, then the model is gone

    async with OpenAIStub(script) as stub:
        dialogs = Dialogs(config(stub.base_url, timeout=PATIENT))
        t = await run_script(demo, BOOKING, tickets=MemoryTickets(), services_hook=dialogs.hook)
    assert_martin_booked(demo, t)  # "le premier" is understood by the engine: it followed the model's find_slots
    assert [name for name, _ in t.tool_calls] == ["find_slots", "book_appointment"]
    assert dialogs.dialog.remote_turns == 2 and not dialogs.dialog.remote_enabled and len(stub.requests) == 4


async def test_remote_recovers_after_one_failure(demo: Demo) -> None:
    replies = iter([Reply(status=503)])

    def script(body: dict[str, Any]) -> Reply:
        return next(replies, None) or booking_script(body)

    async with OpenAIStub(script) as stub:
        dialogs = Dialogs(config(stub.base_url, max_failures=2, timeout=PATIENT))  # a 503 comes at once
        t = await run_script(demo, BOOKING[:2], tickets=MemoryTickets(), services_hook=dialogs.hook)
    dialog = dialogs.dialog
    # turn 1: 503 → the engine calls find_slots and reads its result; turn 2: the model again (failures reset)
    assert (dialog.offline_turns, dialog.remote_turns, dialog.failures) == (2, 1, 0)
    assert [name for name, _ in t.tool_calls] == ["find_slots"] and len(stub.requests) == 2
    assert t.reception.ctx.offered and t.agent_lines[-1].startswith("Très bien.")


async def test_triage_guard_runs_before_the_model(demo: Demo) -> None:
    tickets = MemoryTickets()
    async with OpenAIStub(booking_script) as stub:
        dialogs = Dialogs(config(stub.base_url))
        t = await run_script(demo, ["J'ai une grosse douleur dans la poitrine et je n'arrive plus à respirer"],
                             tickets=tickets, services_hook=dialogs.hook)
    assert stub.requests == []  # an emergency never reaches the model
    (spec,) = tickets.specs.values()
    assert spec.level == "emergency" and t.outcome == "escalated" and "15" in t.text


async def test_both_failing_spoken_fallback_and_handoff_ticket(demo: Demo) -> None:
    tickets = MemoryTickets()
    dialogs = Dialogs(config(refused_url()), break_engine=True)
    t = await run_script(demo, BOOKING[:1], tickets=tickets, services_hook=dialogs.hook)
    assert t.agent_lines == [prompts.text("technical_fallback", "fr")]
    assert dialogs.dialog.gave_up and t.outcome == "escalated"
    (spec,) = tickets.specs.values()
    assert spec.kind == "handoff" and "Panne technique" in spec.reason and spec.id == t.reception.ctx.call_id
    assert t.turn_seconds[0] < FAST + 1.5


# --- the voice path: `permanence call` with LLM_BASE_URL set ----------------------------------------------------


def permanence_call(tmp_path: Path, base_url: str, says: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PERMANENCE_DATA_DIR": str(tmp_path / "data"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "LLM_BASE_URL": base_url, "LLM_MODEL": "stub-model", "LLM_API_KEY": "test-key"}
    args = [arg for say in says for arg in ("--say", say)]
    proc = subprocess.run([sys.executable, "-m", "console", "call", "--demo", "--speed", "4", "--json",
                           "--caller", "0611223344", *args],
                          capture_output=True, text=True, timeout=240, env=env, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


VOICE_BOOKING = ["Bonjour, je voudrais un rendez-vous avec le docteur Martin.", "Le premier.",
                 "Jeanne Dupuis, née le douze mars mille neuf cent quarante-huit."]


@pytest.mark.audio
def test_permanence_call_books_through_the_remote_model(tmp_path: Path) -> None:
    with stub_in_thread(booking_script) as stub:
        report = permanence_call(tmp_path, stub.base_url, VOICE_BOOKING)
    assert len(stub.requests) == 5 and {t["function"]["name"] for t in stub.requests[0]["tools"]} == TOOLS
    assert report["outcome"] == "booked" and report["appointment"]["practitioner"] == "Dr Claire Martin"
    assert report["turns"][1]["agent_text"] == "Très bien. Quels sont vos nom, prénom et date de naissance ?"
    assert all(turn["agent_text"] for turn in report["turns"])


@pytest.mark.audio
def test_permanence_call_with_the_model_down_is_answered_offline(tmp_path: Path) -> None:
    report = permanence_call(tmp_path, refused_url(), VOICE_BOOKING[:1])
    [turn] = report["turns"]
    # Whisper base hears espeak-ng's "rendez-vous" badly, and how the sentence is cut at its pauses (one decode or
    # two) depends on timing: the offline engine then reads a booking with Dr Martin or a message to pass on.
    # Either is its answer; the technical fallback line, a hand-off or a slow reply is the failure looked for.
    offline_answers = ("Dr Claire Martin", prompts.text("message_ask_name", "fr"))
    assert any(answer in turn["agent_text"] for answer in offline_answers), turn
    assert prompts.text("technical_fallback", "fr") not in turn["agent_text"]
    assert report["ticket"] is None and not report["escalated"]
    assert turn["voice_to_voice_ms"] < 5000


# --- configuration ---------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_config_from_settings() -> None:
    assert RemoteLLMConfig.from_settings(Settings(LLM_BASE_URL="", LLM_MODEL="")) is None
    assert dialog_factory(None) is None
    settings = Settings(LLM_BASE_URL="http://127.0.0.1:9/v1", LLM_MODEL="mistral-small", LLM_API_KEY="k")
    cfg = RemoteLLMConfig.from_settings(settings, {"LLM_FIRST_TOKEN_TIMEOUT_S": "2.5", "LLM_MAX_FAILURES": "3"})
    assert cfg is not None
    assert (cfg.base_url, cfg.model, cfg.api_key) == ("http://127.0.0.1:9/v1", "mistral-small", "k")
    assert (cfg.first_token_timeout_s, cfg.chunk_timeout_s, cfg.max_failures) == (2.5, 4.0, 3)
    assert cfg.conn_options.max_retry == 0 and cfg.conn_options.timeout == 4.0
