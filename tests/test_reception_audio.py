"""Reception calls as audio through `permanence call` (espeak-ng voice → Whisper base → dialog → database).

Whisper base transcribes espeak-ng French poorly (WER 0.2-0.6): most calls here are in English, where the
same flows run; the French calls check what happens when recognition fails (a hand-off after two
misunderstandings), which is what a real caller would get.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent.call_command import CallReport, CallRequest, run_call
from console.app import create_app
from practice.db import make_engine, migrate
from practice.models import Appointment, Patient, Ticket
from practice.settings import Settings
from tests.reception_harness import Demo, seed

pytestmark = pytest.mark.audio

REDIS_URL = "redis://127.0.0.1:6379/15"
CALLER = "0699887766"
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class AudioWorld:
    demo: Demo
    settings: Settings

    def call(self, lines: list[str], *, language: str = "en", now: datetime | None = None) -> CallReport:
        request = CallRequest(turns=[("say", line) for line in lines], caller=CALLER, speed=1.0, language=language,
                              now=now or next_open_morning())  # never the hour CI happens to run at
        redis = Redis.from_url(REDIS_URL)
        return run_call(request, settings=self.settings, app_factory=lambda engine, runner: create_app(
            settings=self.settings, engine=engine, redis=redis, call_handler=runner))

    def appointments(self, last_name: str) -> list[Appointment]:
        return self.demo.appointments_of(last_name)

    def ticket(self, ticket_id: str) -> Ticket | None:
        with Session(self.demo.engine) as s:
            return s.get(Ticket, ticket_id)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("permanence-data")


@pytest.fixture
def world(tmp_path: Path, data_dir: Path) -> Iterator[AudioWorld]:
    url = f"sqlite:///{tmp_path / 'audio.db'}"
    engine: Engine = make_engine(url)
    migrate(engine)
    demo = seed(engine, today=date.today())
    settings = Settings(_env_file=None, PERMANENCE_DATA_DIR=str(data_dir), DATABASE_URL=url,
                        REDIS_URL=REDIS_URL)
    settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(32)})
    yield AudioWorld(demo, settings)
    engine.dispose()


def add_lambert(world: AudioWorld) -> int:
    starts = datetime.combine(date.today() + timedelta(days=9), datetime.min.time()).replace(hour=9)
    return world.demo.add_patient_appointment(first="Paul", last="Lambert", born=date(1970, 5, 5),
                                              phone="+33699887766", practitioner="Martin", starts_at=starts)


def next_open_morning() -> datetime:
    """Next working Tuesday 10:00 at the practice: hand-offs need it open, whatever the hour CI runs at."""
    day = date.today() + timedelta(days=1)
    closed = holidays.country_holidays("FR", years=[day.year, day.year + 1])
    while day.weekday() != 1 or day in closed:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), PARIS)


def heard(report: CallReport) -> str:
    """What each side said, for a failure message (test data only)."""
    return "\n".join(f"{t['caller_transcript']!r} -> {t['agent_text']!r}" for t in report.turns)


def agent_text(report: CallReport) -> str:
    return " ".join([report.greeting, *(t["agent_text"] for t in report.turns)])


def test_en_audio_booking(world: AudioWorld) -> None:
    report = world.call(["Hello, I would like to book an appointment with Doctor Garnier.", "The first one.",
                         "My name is John Smith.", "I was born on the fourth of July, nineteen eighty.", "Yes."])
    [appt] = world.appointments("Smith")
    assert appt.practitioner_id == world.demo.practitioner_id("Garnier") and appt.status == "booked"
    assert report.outcome == "booked" and report.appointment and report.appointment["id"] == appt.id
    with Session(world.demo.engine) as s:
        smith = s.exec(select(Patient).where(Patient.last_name == "Smith")).one()
    assert smith.birth_date == date(1980, 7, 4) and smith.phone == "+33699887766"


def test_en_audio_booking_by_specialty(world: AudioWorld) -> None:
    report = world.call(["Hello, I need an appointment with the physiotherapist.", "The second one.",
                         "My name is John Smith.", "I was born on the fourth of July, nineteen eighty.", "Yes."])
    [appt] = world.appointments("Smith") or [None]
    assert appt is not None and appt.practitioner_id == world.demo.practitioner_id("Moreau"), heard(report)
    assert report.outcome == "booked"


def test_en_audio_cancel(world: AudioWorld) -> None:
    appt_id = add_lambert(world)
    report = world.call(["Hello, I would like to cancel my appointment.", "My name is Paul Lambert.", "Yes."])
    assert world.demo.appointment(appt_id).status == "cancelled" and report.outcome == "cancelled"


def test_en_audio_opening_hours(world: AudioWorld) -> None:
    report = world.call(["Hello, what are your opening hours?", "No thank you, goodbye."])
    assert report.outcome == "informed" and "Monday to Friday" in agent_text(report)


def test_en_audio_asks_for_a_person(world: AudioWorld) -> None:
    report = world.call(["Hello, can I speak to a real person, please?"])
    assert report.outcome == "escalated" and report.ticket is not None
    ticket = world.ticket(report.ticket["id"])
    assert ticket is not None and ticket.kind == "handoff" and ticket.caller_number == CALLER


def test_en_audio_prescription_message(world: AudioWorld) -> None:
    report = world.call(["Hello, I need a prescription renewal from Doctor Lefebvre.", "My name is John Smith.",
                         "I was born on the fourth of July, nineteen eighty.", "Yes."])
    assert report.ticket is not None and report.outcome == "message"
    ticket = world.ticket(report.ticket["id"])
    assert ticket is not None and ticket.kind == "message" and ticket.summary["message"]["subject"] == "prescription"
    assert "prescription" in ticket.summary["message"]["text"].lower()


def test_en_audio_after_hours_orients_and_books_for_reopening(world: AudioWorld) -> None:
    today = date.today()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7 or 7)
    now = datetime.combine(sunday, datetime.min.time(), PARIS).replace(hour=15)
    report = world.call(["Hello, I would like an appointment with Doctor Martin.", "The first one.",
                         "My name is John Smith.", "I was born on the fourth of July, nineteen eighty.", "Yes."],
                        now=now)
    said = agent_text(report)
    assert "closed" in said and "116 117" in said and "3624" in said
    [appt] = world.appointments("Smith") or [None]
    assert appt is not None and appt.starts_at.date() > sunday, heard(report)


def test_fr_audio_misheard_caller_is_handed_over(world: AudioWorld, data_dir: Path) -> None:
    """French through `permanence call` itself: espeak-ng French is misheard, the agent hands over after two
    misunderstandings, and the JSON carries the outcome and the ticket."""
    env = {**os.environ, "PERMANENCE_DATA_DIR": str(data_dir), "DATABASE_URL": str(world.settings.database_url),
           "REDIS_URL": REDIS_URL}
    proc = subprocess.run(
        [sys.executable, "-m", "console", "call", "--speed", "2", "--json", "--caller", CALLER,
         "--at", next_open_morning().replace(tzinfo=None).isoformat(timespec="minutes"),
         "--say", "Je voudrais parler à une secrétaire, s'il vous plaît.", "--say", "Jeanne Dupuis.",
         "--say", "Oui."],
        capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).parent.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, Any] = json.loads(proc.stdout)
    assert report["outcome"] == "escalated" and report["ticket"]["kind"] == "handoff"
    ticket = world.ticket(report["ticket"]["id"])
    assert ticket is not None and ticket.caller_number == CALLER


def test_en_audio_emergency_on_the_voice_path_leaves_a_ticket(world: AudioWorld) -> None:
    """The triage guard in `on_user_turn_completed` (voice path) stops the dialog and enqueues the hand-off."""
    report = world.call(["Hello, I would like an appointment with Doctor Martin.",
                         "My husband has a crushing pain in his chest."])
    assert report.outcome == "escalated" and report.triage_level == "emergency"
    assert report.ticket is not None and report.ticket["level"] == "emergency"
    ticket = world.ticket(report.ticket["id"])
    assert ticket is not None and ticket.kind == "handoff" and ticket.caller_number == CALLER
    assert "call 15" in agent_text(report) and not world.appointments("Smith")
