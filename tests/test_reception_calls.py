"""Scripted reception calls (French and English) as text through `session.run`, asserting the database outcome."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pytest
from redis import Redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from escalation.queue import HumanQueue
from escalation.queue_keys import QueueKeys
from escalation.ticket_store import TicketStore
from practice.db import make_engine, migrate
from practice.models import Appointment, Patient, Ticket
from tests.queue_fixtures import SHARED_REDIS, drop_prefix
from tests.reception_harness import CALLER, PARIS, Demo, Transcript, run_script, seed

pytestmark = pytest.mark.integration

SUNDAY_15H = datetime(2026, 11, 29, 15, 0, tzinfo=PARIS)
TUESDAY_21H = datetime(2026, 11, 24, 21, 0, tzinfo=PARIS)
CHRISTMAS_10H = datetime(2026, 12, 25, 10, 0, tzinfo=PARIS)
# An appointment of our own patient, Paul Lambert (the demo's patients have dozens).
LAMBERT_AT = datetime(2026, 12, 3, 9, 0)


@dataclass
class World:
    demo: Demo
    queue: HumanQueue
    redis: Redis
    keys: QueueKeys

    def ticket(self, ticket_id: str) -> Ticket | None:
        with Session(self.demo.engine) as s:
            return s.get(Ticket, ticket_id)

    def tickets(self) -> list[Ticket]:
        with Session(self.demo.engine) as s:
            return list(s.exec(select(Ticket)).all())


def _world(engine: Engine) -> Iterator[World]:
    redis = Redis.from_url(SHARED_REDIS)
    keys = QueueKeys(prefix=f"test:{uuid.uuid4().hex[:10]}")
    queue = HumanQueue(redis, TicketStore(engine), keys=keys)
    yield World(seed(engine), queue, redis, keys)
    drop_prefix(redis, keys)
    redis.close()


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path / 'reception.db'}")
    migrate(engine)
    yield from _world(engine)
    engine.dispose()


@pytest.fixture
def world_both(engine: Engine) -> Iterator[World]:
    """The same on SQLite and on PostgreSQL (conftest's `engine` fixture)."""
    yield from _world(engine)


async def call(world: World, lines: list[str], **kwargs: Any) -> Transcript:
    return await run_script(world.demo, lines, tickets=world.queue, **kwargs)


def booked(world: World, last_name: str) -> Appointment:
    rows = [a for a in world.demo.appointments_of(last_name) if a.status == "booked"]
    assert len(rows) == 1, rows
    return rows[0]


def patient(world: World, last_name: str) -> Patient:
    with Session(world.demo.engine) as s:
        return s.exec(select(Patient).where(Patient.last_name == last_name)).one()


def add_lambert(world: World, at: datetime = LAMBERT_AT, practitioner: str = "Martin") -> int:
    return world.demo.add_patient_appointment(first="Paul", last="Lambert", born=date(1970, 5, 5), phone=CALLER,
                                              practitioner=practitioner, starts_at=at)


def assert_practitioner(world: World, appt: Appointment, last_name: str) -> None:
    assert appt.practitioner_id == world.demo.practitioner_id(last_name)


IDENTIFY = ["Jeanne Dupuis", "le douze mars mille neuf cent quarante-huit", "oui"]


# --- booking ----------------------------------------------------------------------------------------------


async def test_fr_book_by_name(world: World) -> None:
    t = await call(world, ["Bonjour, je voudrais un rendez-vous avec le docteur Martin", "le premier", *IDENTIFY,
                           "non merci, au revoir"])
    appt = booked(world, "Dupuis")
    assert_practitioner(world, appt, "Martin")
    assert appt.starts_at == datetime(2026, 11, 24, 10, 10) and appt.call_id == t.reception.ctx.call_id
    p = patient(world, "Dupuis")
    assert (p.first_name, p.birth_date, p.phone) == ("Jeanne", date(1948, 3, 12), CALLER)
    assert t.outcome == "booked" and "Au revoir" in t.agent_lines[-1]


@pytest.mark.parametrize("said, expected", [("le docteur Lefèvre", "Lefebvre"), ("le Dr Martine", "Martin"),
                                             ("le docteur Garniet", "Garnier"), ("docteur Nguyen", "Nguyen")])
async def test_fr_book_mispronounced_names(world: World, said: str, expected: str) -> None:
    await call(world, [f"Je voudrais prendre rendez-vous avec {said}", "le premier", *IDENTIFY])
    assert_practitioner(world, booked(world, "Dupuis"), expected)


@pytest.mark.parametrize("said, expected", [("chez la pédiatre pour ma fille", "Nguyen"), ("avec le kiné", "Moreau"),
                                             ("avec la sage-femme", "Dubois"), ("pour une prise de sang avec "
                                                                                "l'infirmière", "Benali")])
async def test_fr_book_by_specialty(world: World, said: str, expected: str) -> None:
    await call(world, [f"Il me faudrait un rendez-vous {said}", "le premier", *IDENTIFY])
    assert_practitioner(world, booked(world, "Dupuis"), expected)


async def test_fr_book_first_available_gp(world: World) -> None:
    t = await call(world, ["Je voudrais un rendez-vous le plus tôt possible", "le premier", *IDENTIFY])
    appt = booked(world, "Dupuis")
    assert appt.practitioner_id in {world.demo.practitioner_id(n) for n in ("Martin", "Lefebvre", "Garnier")}
    assert appt.starts_at == datetime(2026, 11, 24, 10, 10)
    assert t.tool_calls[0][0] == "find_slots" and "généraliste" in json.loads(t.tool_calls[0][1])["specialty"]


async def test_fr_book_thursday_afternoon_instead(world: World) -> None:
    await call(world, ["Un rendez-vous avec le docteur Martin s'il vous plaît", "plutôt jeudi après-midi",
                       "le premier", *IDENTIFY])
    appt = booked(world, "Dupuis")
    assert appt.starts_at.date() == date(2026, 11, 26) and appt.starts_at.hour >= 14


async def test_fr_book_not_tuesday(world: World) -> None:
    await call(world, ["Un rendez-vous avec le docteur Martin", "non, pas mardi", "le deuxième", *IDENTIFY])
    appt = booked(world, "Dupuis")
    assert appt.starts_at.weekday() != 1 and appt.starts_at.date() > date(2026, 11, 24)


async def test_fr_book_changes_mind_practitioner(world: World) -> None:
    await call(world, ["Je voudrais voir le docteur Martin", "finalement je préfère le docteur Garnier",
                       "le premier", *IDENTIFY])
    assert_practitioner(world, booked(world, "Dupuis"), "Garnier")


async def test_fr_book_next_tuesday_around_ten(world: World) -> None:
    await call(world, ["Rendez-vous mardi prochain vers dix heures avec le docteur Lefebvre", "le premier", *IDENTIFY])
    appt = booked(world, "Dupuis")
    assert appt.starts_at.date() == date(2026, 12, 1) and time(9, 0) <= appt.starts_at.time() <= time(11, 0)


async def test_fr_book_picks_by_time(world: World) -> None:
    await call(world, ["Un rendez-vous avec le docteur Martin", "celui de 14 h", *IDENTIFY])
    appt = booked(world, "Dupuis")
    assert appt.starts_at == datetime(2026, 11, 24, 14, 0)


async def test_fr_book_name_and_birth_date_in_one_turn(world: World) -> None:
    t = await call(world, ["Rendez-vous avec le docteur Garnier", "le premier",
                           "Je m'appelle Jeanne Dupuis, née le 3 avril 1985", "oui"])
    assert patient(world, "Dupuis").birth_date == date(1985, 4, 3)
    assert len([c for c in t.tool_calls if c[0] == "book_appointment"]) == 1


async def test_fr_book_corrects_name_at_read_back(world: World) -> None:
    await call(world, ["Rendez-vous avec le docteur Martin", "le premier", "Jeanne Dupuis", "12 mars 1948",
                       "non, c'est Dupont", "oui"])
    assert booked(world, "Dupont") and not world.demo.appointments_of("Dupuis")


async def test_fr_book_says_no_then_another_day(world: World) -> None:
    await call(world, ["Rendez-vous avec le docteur Martin", "le premier", "Jeanne Dupuis", "12 mars 1948",
                       "non", "plutôt vendredi", "le premier", "oui"])
    assert booked(world, "Dupuis").starts_at.weekday() == 4


async def test_fr_book_repeat_request(world: World) -> None:
    t = await call(world, ["Rendez-vous avec le docteur Martin", "pardon, vous pouvez répéter ?", "le premier",
                           *IDENTIFY])
    assert t.agent_lines[0] == t.agent_lines[1]
    assert booked(world, "Dupuis")


async def test_fr_book_not_offered_dermatologist(world: World) -> None:
    t = await call(world, ["Je voudrais voir un dermatologue", "bon, un généraliste alors", "le premier", *IDENTIFY])
    assert "pas de dermatologue" in t.agent_lines[0] and "Dr Claire Martin" in t.agent_lines[0]
    assert booked(world, "Dupuis").practitioner_id == world.demo.practitioner_id("Martin")


async def test_fr_book_slot_taken_meanwhile(world: World) -> None:
    taken: list[datetime] = []

    def someone_else_books(index: int, t: Transcript) -> None:
        if index == 4:  # between the caller's choice and their "yes", another caller takes the slot
            first = t.reception.ctx.offered[0]
            taken.append(first.starts_at)
            world.demo.add_patient_appointment(first="X", last="Concurrent", born=date(1990, 1, 1),
                                               phone="+33600000000", practitioner="Martin", starts_at=first.starts_at)

    t = await call(world, ["Rendez-vous avec le docteur Martin", "le premier", *IDENTIFY, "le premier", "oui"],
                   before_line=someone_else_books)
    assert "vient d'être pris" in t.text
    appt = booked(world, "Dupuis")
    assert appt.starts_at != taken[0] and appt.practitioner_id == world.demo.practitioner_id("Martin")


async def test_fr_after_hours_evening_books_for_reopening(world: World) -> None:
    t = await call(world, ["Je voudrais un rendez-vous avec le docteur Martin", "le premier", *IDENTIFY],
                   now=TUESDAY_21H)
    assert booked(world, "Dupuis").starts_at >= datetime(2026, 11, 25, 8, 0)
    assert t.outcome == "booked"


async def test_fr_after_hours_greeting_orients(world: World) -> None:
    from agent.dialog.flows.opening import greeting

    t = await call(world, ["Quels sont vos horaires ?"], now=SUNDAY_15H)
    said = greeting(t.reception.ctx)
    assert "fermé" in said and "15" in said and "116 117" in said and "3624" in said and "lundi 30 novembre" in said
    assert "automatique" in said and t.outcome == "informed"


async def test_fr_holiday_greeting_and_booking(world: World) -> None:
    from agent.dialog.flows.opening import greeting

    t = await call(world, ["Un rendez-vous avec le docteur Martin", "le premier", *IDENTIFY], now=CHRISTMAS_10H)
    said = greeting(t.reception.ctx)
    assert "Noël" in said and "116 117" in said
    assert booked(world, "Dupuis").starts_at.date() >= date(2026, 12, 26)


async def test_fr_human_after_hours_is_a_callback(world: World) -> None:
    t = await call(world, ["Je voudrais parler à une secrétaire"], now=SUNDAY_15H)
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "callback" and "rappellera" in t.agent_lines[-1]


# --- existing appointments --------------------------------------------------------------------------------


async def test_fr_cancel(world: World) -> None:
    appt_id = add_lambert(world)
    t = await call(world, ["Je voudrais annuler mon rendez-vous", "Lambert", "oui", "non merci"])
    assert world.demo.appointment(appt_id).status == "cancelled" and t.outcome == "cancelled"
    assert "jeudi 3 décembre à 9 h" in t.text


async def test_fr_cancel_name_in_first_turn(world: World) -> None:
    appt_id = add_lambert(world)
    await call(world, ["Bonjour, c'est Paul Lambert, je dois annuler mon rendez-vous", "oui"])
    assert world.demo.appointment(appt_id).status == "cancelled"


async def test_fr_cancel_found_by_birth_date(world: World) -> None:
    appt_id = add_lambert(world)
    t = await call(world, ["Je voudrais annuler un rendez-vous", "Durand", "le cinq mai mille neuf cent soixante-dix",
                           "oui"])
    assert world.demo.appointment(appt_id).status == "cancelled"
    assert "date de naissance" in t.agent_lines[1]


async def test_fr_cancel_one_of_two(world: World) -> None:
    first = add_lambert(world)
    second = world.demo.add_patient_appointment(first="Paul", last="Lambert", born=date(1970, 5, 5), phone=CALLER,
                                                practitioner="Moreau", starts_at=datetime(2026, 12, 4, 15, 0))
    with Session(world.demo.engine) as s:  # one patient, two appointments
        a = s.get(Appointment, second)
        assert a is not None
        a.patient_id = world.demo.appointment(first).patient_id
        s.add(a)
        s.commit()
    await call(world, ["Je veux annuler un rendez-vous", "Lambert", "celui de vendredi", "oui"])
    assert world.demo.appointment(second).status == "cancelled"
    assert world.demo.appointment(first).status == "booked"


async def test_fr_cancel_changes_mind(world: World) -> None:
    appt_id = add_lambert(world)
    t = await call(world, ["Je voudrais annuler mon rendez-vous", "Lambert", "non, finalement je le garde",
                           "au revoir"])
    assert world.demo.appointment(appt_id).status == "booked" and t.outcome != "cancelled"


async def test_fr_reschedule(world: World) -> None:
    appt_id = add_lambert(world)
    t = await call(world, ["Je voudrais déplacer mon rendez-vous", "Lambert", "vendredi", "le premier", "oui"])
    old = world.demo.appointment(appt_id)
    new = [a for a in world.demo.appointments_of("Lambert") if a.rescheduled_from_id == appt_id]
    assert old.status == "cancelled" and len(new) == 1 and new[0].starts_at.weekday() == 4
    assert new[0].practitioner_id == old.practitioner_id and t.outcome == "rescheduled"


async def test_fr_confirm(world: World) -> None:
    appt_id = add_lambert(world)
    t = await call(world, ["Je vous appelle pour confirmer mon rendez-vous", "Paul Lambert", "oui"])
    assert world.demo.appointment(appt_id).status == "confirmed" and t.outcome == "confirmed"


async def test_fr_cancel_unknown_caller(world: World) -> None:
    t = await call(world, ["Je veux annuler mon rendez-vous", "Durand", "le 1er janvier 1990"])
    assert "Je ne trouve toujours pas" in t.text or "ne trouve pas" in t.text
    assert t.outcome == ""


# --- messages ---------------------------------------------------------------------------------------------


async def test_fr_prescription_message(world: World) -> None:
    t = await call(world, ["Je voudrais un renouvellement d'ordonnance pour le docteur Martin", "Jeanne Dupuis",
                           "12 mars 1948", "oui"])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "message" and ticket.status == "queued"
    assert ticket.practitioner_id == world.demo.practitioner_id("Martin")
    assert ticket.summary["message"]["subject"] == "prescription" and "ordonnance" in ticket.summary["message"]["text"]
    assert ticket.summary["caller"] == {"name": "Jeanne Dupuis", "birth_date": "1948-03-12"}
    assert world.queue.entry(ticket.id) is not None and t.outcome == "message"
    assert not world.demo.appointments_of("Dupuis")


async def test_fr_results_message_is_not_answered(world: World) -> None:
    t = await call(world, ["J'appelle pour mes résultats de prise de sang", "Jeanne Dupuis", "12 mars 1948", "oui"])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "message" and ticket.summary["message"]["subject"] == "results"
    assert "avis médical" in t.agent_lines[-1]


async def test_fr_certificate_message(world: World) -> None:
    t = await call(world, ["Il me faudrait un certificat médical pour le sport de mon fils", "Jeanne Dupuis",
                           "12 mars 1948", "oui"])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.summary["message"]["subject"] == "certificate"
    assert "certificat" in ticket.summary["message"]["text"]


async def test_fr_clinical_question_becomes_a_message(world: World) -> None:
    t = await call(world, ["Est-ce que je peux prendre du Doliprane avec mon traitement ?", "Jeanne Dupuis",
                           "12 mars 1948", "oui"])
    assert "ne peux pas répondre aux questions médicales" in t.agent_lines[0]
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "message" and "Doliprane" in ticket.summary["message"]["text"]


# --- information ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("asked, expected", [
    ("Quels sont vos horaires ?", "du lundi au vendredi de 8 h à 12 h 30 et de 14 h à 19 h"),
    ("Quelle est votre adresse ?", "12 rue des Tilleuls, 69003 Lyon"),
    ("Est-ce qu'il y a un parking près du cabinet ?", "Parking payant rue Servient"),
    ("Qu'est-ce que je dois apporter pour le rendez-vous ?", "carte Vitale"),
])
async def test_fr_practice_information(world: World, asked: str, expected: str) -> None:
    t = await call(world, [asked, "non merci, au revoir"])
    assert expected in t.agent_lines[0] and t.outcome == "informed"
    assert not world.tickets()


# --- escalation -------------------------------------------------------------------------------------------


async def test_fr_asks_for_a_person(world: World) -> None:
    t = await call(world, ["Je voudrais parler à une secrétaire s'il vous plaît"])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "handoff" and ticket.caller_number == CALLER
    assert world.queue.entry(ticket.id) is not None and t.outcome == "escalated"
    assert "patienter" in t.agent_lines[-1]


async def test_fr_emergency_goes_to_15_and_a_ticket(world: World) -> None:
    t = await call(world, ["J'ai une forte douleur dans la poitrine et j'ai du mal à respirer"])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.level == "emergency"
    assert "15" in t.agent_lines[-1] and not world.demo.appointments_of("Dupuis")


async def test_fr_emergency_mid_booking(world: World) -> None:
    t = await call(world, ["Je voudrais un rendez-vous avec le docteur Martin", "mon mari vient de perdre "
                                                                                 "connaissance, il ne respire plus"])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.level == "emergency" and "15" in t.agent_lines[-1]


async def test_fr_broken_agenda_hands_over(world: World) -> None:
    from practice.calendar import SqlCalendar

    class BrokenCalendar(SqlCalendar):
        def find_slots(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("database down")

    def broken(services: Any) -> None:
        services.make_calendar = BrokenCalendar

    t = await call(world, ["Je voudrais un rendez-vous avec le docteur Martin"], services_hook=broken)
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "handoff" and "Panne technique" in ticket.reason
    assert "agenda" in t.text and "patienter" in t.agent_lines[-1] and "internal" not in t.text


async def test_fr_repeated_misunderstanding_hands_over(world: World) -> None:
    t = await call(world, ["blablabla truc machin", "schmurtz gloubi boulga", "zorglub"])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "handoff" and "compris" in ticket.reason


async def test_fr_repeat_right_after_the_greeting(world: World) -> None:
    t = await call(world, ["Pardon ?", "Quels sont vos horaires ?"])
    assert t.agent_lines[0].startswith("Bonjour, Maison de santé des Tilleuls") and "automatique" in t.agent_lines[0]
    assert t.outcome == "informed"


async def test_fr_silence_is_prompted(world: World) -> None:
    t = await call(world, ["", "Quels sont vos horaires ?"])
    assert "ne vous entends pas" in t.agent_lines[0] and t.outcome == "informed"


async def test_fr_caller_ends_at_once(world: World) -> None:
    t = await call(world, ["Non rien, je me suis trompé de numéro, au revoir"])
    assert "Au revoir" in t.agent_lines[-1] and not world.tickets() and t.outcome == ""


# --- English ----------------------------------------------------------------------------------------------

EN_IDENTIFY = ["My name is John Smith", "I was born on the 4th of July 1980", "yes"]


async def test_en_book_by_name(world: World) -> None:
    t = await call(world, ["Hello, I would like to book an appointment with Doctor Garnier", "the first one",
                           *EN_IDENTIFY, "no thanks, goodbye"])
    appt = booked(world, "Smith")
    assert_practitioner(world, appt, "Garnier")
    assert patient(world, "Smith").birth_date == date(1980, 7, 4)
    assert "Let me read that back" in t.text and "Goodbye" in t.agent_lines[-1]


async def test_en_book_pediatrician_thursday_afternoon(world: World) -> None:
    await call(world, ["Hi, I need an appointment with the paediatrician on Thursday afternoon", "the first one",
                       "My name is Lily Smith", "she was born on the 2nd of March 2020", "yes"])
    appt = booked(world, "Smith")
    assert_practitioner(world, appt, "Nguyen")
    assert appt.starts_at.weekday() == 3 and appt.starts_at.hour >= 13


async def test_en_not_offered_then_gp(world: World) -> None:
    t = await call(world, ["Hello, I would like to see a dermatologist please", "a general practitioner then",
                           "the second one", *EN_IDENTIFY])
    assert "has no dermatologist" in t.agent_lines[0]
    assert booked(world, "Smith").practitioner_id in {world.demo.practitioner_id(n)
                                                      for n in ("Martin", "Lefebvre", "Garnier")}


async def test_en_cancel(world: World) -> None:
    appt_id = add_lambert(world)
    t = await call(world, ["Hello, I would like to cancel my appointment please", "Paul Lambert", "yes"])
    assert world.demo.appointment(appt_id).status == "cancelled" and "is cancelled" in t.text


async def test_en_reschedule(world: World) -> None:
    appt_id = add_lambert(world)
    await call(world, ["Hello, I need to move my appointment to another day", "Lambert", "Friday please",
                       "the first one", "yes"])
    new = [a for a in world.demo.appointments_of("Lambert") if a.rescheduled_from_id == appt_id]
    assert len(new) == 1 and new[0].starts_at.weekday() == 4


async def test_en_opening_hours(world: World) -> None:
    t = await call(world, ["Hello, what are your opening hours?"])
    assert "The practice is open Monday to Friday from 8:00 to 12:30" in t.agent_lines[0]


async def test_en_prescription_message(world: World) -> None:
    t = await call(world, ["Hello, I would like a prescription renewal from Doctor Lefebvre", *EN_IDENTIFY])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "message" and ticket.summary["language"] == "en"
    assert ticket.practitioner_id == world.demo.practitioner_id("Lefebvre")


async def test_en_asks_for_a_person(world: World) -> None:
    t = await call(world, ["Hello, can I speak to a real person please?"])
    ticket = world.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "handoff" and "member of staff" in t.agent_lines[-1]


# --- on SQLite and PostgreSQL -----------------------------------------------------------------------------


async def test_both_databases_book(world_both: World) -> None:
    await call(world_both, ["Je voudrais un rendez-vous avec le docteur Lefèvre", "non, pas mardi", "le premier",
                            *IDENTIFY])
    appt = booked(world_both, "Dupuis")
    assert_practitioner(world_both, appt, "Lefebvre")
    assert appt.starts_at.weekday() != 1


async def test_both_databases_reschedule(world_both: World) -> None:
    appt_id = add_lambert(world_both)
    await call(world_both, ["Je voudrais déplacer mon rendez-vous", "Lambert", "vendredi", "le premier", "oui"])
    assert world_both.demo.appointment(appt_id).status == "cancelled"
    assert any(a.rescheduled_from_id == appt_id for a in world_both.demo.appointments_of("Lambert"))


async def test_both_databases_message(world_both: World) -> None:
    t = await call(world_both, ["Je voudrais un renouvellement d'ordonnance", "Jeanne Dupuis", "12 mars 1948",
                                "oui"])
    ticket = world_both.ticket(t.reception.ctx.call_id)
    assert ticket is not None and ticket.kind == "message"

