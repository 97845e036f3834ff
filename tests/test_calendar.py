"""The SQL calendar on SQLite and PostgreSQL: slot search, constraints, booking, changes, patients."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from practice.calendar import SqlCalendar
from practice.calendar_types import PartOfDay, SlotConstraints
from practice.db import session_scope
from practice.errors import (
    AmbiguousPractitioner,
    AppointmentNotActive,
    CalendarError,
    InvalidRequest,
    OutsideOpeningHours,
    SlotInPast,
    SlotTaken,
    SlotUnavailable,
    UnknownAppointment,
    UnknownConsultationType,
    UnknownPatient,
    UnknownPractice,
    UnknownPractitioner,
    UnknownProfession,
)
from practice.models import Appointment, AvailabilityRule, Patient, Practice
from tests.factories import (
    MONDAY,
    NOW,
    add_absence,
    add_appointment,
    add_closure,
    make_clinic,
    make_patient,
)

pytestmark = pytest.mark.integration

TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = (MONDAY + timedelta(days=n) for n in range(1, 7))
EASTER_MONDAY = date(2030, 4, 22)
GOOD_FRIDAY = date(2030, 4, 19)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


@pytest.fixture
def clinic(engine):
    return make_clinic(engine)


@pytest.fixture
def cal(engine) -> SqlCalendar:
    return SqlCalendar(engine)


@pytest.fixture
def alice(engine) -> int:
    return make_patient(engine)


@pytest.fixture
def bob(engine) -> int:
    return make_patient(engine, last_name="Morel", first_name="Bob", phone="0698765432")


def starts(slots) -> list[datetime]:
    return [s.starts_at for s in slots]


def book(cal, clinic, who: str, patient: int, when: datetime, **kw):
    return cal.book(
        clinic.practice_id, practitioner_id=clinic.practitioners[who], patient_id=patient, starts_at=when, now=NOW, **kw
    )


# --- who ------------------------------------------------------------------------------------------


def test_by_full_name_offers_distinct_half_days(cal, clinic):
    slots = cal.find_slots(clinic.practice_id, practitioner="docteur Paul Martin", now=NOW)
    assert starts(slots) == [at(MONDAY, 9), at(MONDAY, 14), at(TUESDAY, 9)]
    assert {s.practitioner_id for s in slots} == {clinic.practitioners["paul_martin"]}
    assert slots[0].practitioner_name == "Dr Paul Martin"
    assert slots[0].ends_at - slots[0].starts_at == timedelta(minutes=20)


def test_by_id(cal, clinic):
    slots = cal.find_slots(clinic.practice_id, practitioner=clinic.practitioners["lefebvre"], now=NOW)
    assert starts(slots) == [at(MONDAY, 9), at(MONDAY, 14), at(WEDNESDAY, 9)]


@pytest.mark.parametrize("spoken", ["le docteur Lefèvre", "Dr Lefebvre", "docteur LEFEVRE le pédiatre"])
def test_by_name_as_asr_writes_it(cal, clinic, spoken):
    slots = cal.find_slots(clinic.practice_id, practitioner=spoken, now=NOW)
    assert {s.practitioner_id for s in slots} == {clinic.practitioners["lefebvre"]}


@pytest.mark.parametrize("spoken", ["docteur Martin", "Dr Martine"])
def test_ambiguous_name_is_reported_not_guessed(cal, clinic, spoken):
    with pytest.raises(AmbiguousPractitioner) as caught:
        cal.find_slots(clinic.practice_id, practitioner=spoken, now=NOW)
    assert caught.value.candidates == [clinic.practitioners["claire_martin"], clinic.practitioners["paul_martin"]]
    assert caught.value.code == "ambiguous_practitioner"


def test_name_narrowed_by_profession_argument(cal, clinic):
    slots = cal.find_slots(clinic.practice_id, practitioner="madame Dubois", profession="la sage-femme", now=NOW)
    assert {s.practitioner_id for s in slots} == {clinic.practitioners["dubois"]}
    assert {s.starts_at.weekday() for s in slots} <= {1, 3}


@pytest.mark.parametrize(
    ("lay", "who"),
    [
        ("un pédiatre", {"lefebvre"}),
        ("le kiné", {"girard"}),
        ("kinésithérapeute", {"girard"}),
        ("la sage-femme", {"dubois"}),
        ("l'infirmière", {"bernard"}),
        ("a nurse", {"bernard"}),
        ("physio", {"girard"}),
        ("un généraliste", {"claire_martin", "paul_martin"}),
        ("mon médecin traitant", {"claire_martin", "paul_martin"}),
    ],
)
def test_by_profession(cal, clinic, lay, who):
    slots = cal.find_slots(clinic.practice_id, profession=lay, limit=6, now=NOW)
    assert slots
    assert {s.practitioner_id for s in slots} <= {clinic.practitioners[k] for k in who}


def test_profession_text_in_the_practitioner_argument(cal, clinic):
    slots = cal.find_slots(clinic.practice_id, practitioner="le kiné", now=NOW)
    assert {s.practitioner_id for s in slots} == {clinic.practitioners["girard"]}
    assert starts(slots)[0] == at(MONDAY, 8, 30)  # rule starts at 8:00, the practice opens at 8:30


def test_unknown_practitioner_and_profession(cal, clinic):
    with pytest.raises(UnknownPractitioner):
        cal.find_slots(clinic.practice_id, practitioner="docteur Durand", now=NOW)
    with pytest.raises(UnknownPractitioner):
        cal.find_slots(clinic.practice_id, practitioner=99999, now=NOW)
    with pytest.raises(UnknownPractitioner):  # inactive
        cal.find_slots(clinic.practice_id, practitioner=clinic.practitioners["retired"], now=NOW)
    with pytest.raises(UnknownProfession):
        cal.find_slots(clinic.practice_id, profession="un dentiste", now=NOW)
    with pytest.raises(UnknownPractice):
        cal.find_slots(424242, now=NOW)


def test_whole_group_next_free_slots(cal, clinic):
    slots = cal.find_slots(clinic.practice_id, now=NOW)
    assert len(slots) == 3
    assert starts(slots) == sorted(starts(slots))
    assert len({(s.starts_at.date(), s.starts_at.hour < 13) for s in slots}) == 3
    assert slots[0].starts_at == at(MONDAY, 8, 30)


def test_search_is_deterministic(cal, clinic):
    first = cal.find_slots(clinic.practice_id, profession="un généraliste", limit=5, now=NOW)
    assert cal.find_slots(clinic.practice_id, profession="un généraliste", limit=5, now=NOW) == first


def test_never_in_the_past(cal, clinic):
    now = at(MONDAY, 10, 5)
    slots = cal.find_slots(clinic.practice_id, practitioner=clinic.practitioners["claire_martin"], now=now)
    assert starts(slots)[0] == at(MONDAY, 10, 10)
    assert all(s > now for s in starts(slots))


def test_aware_now_is_read_in_the_practice_zone(cal, clinic):
    now = datetime(2030, 3, 4, 9, 5, tzinfo=UTC)  # 10:05 in Paris (UTC+1 in March)
    slots = cal.find_slots(clinic.practice_id, practitioner=clinic.practitioners["claire_martin"], now=now)
    assert starts(slots)[0] == at(MONDAY, 10, 10)


def test_the_practice_time_zone_is_used(engine, cal, clinic, alice):
    with session_scope(engine) as session:
        session.get(Practice, clinic.practice_id).timezone = "Indian/Reunion"  # UTC+4
    now = datetime(2030, 3, 4, 5, 5, tzinfo=UTC)  # 09:05 in Saint-Denis
    slots = cal.find_slots(clinic.practice_id, practitioner=clinic.practitioners["claire_martin"], now=now)
    assert starts(slots)[0] == at(MONDAY, 9, 10)
    appointment = cal.book(
        clinic.practice_id,
        practitioner_id=clinic.practitioners["claire_martin"],
        patient_id=alice,
        starts_at=datetime(2030, 3, 4, 6, 10, tzinfo=UTC),
        now=now,
    )
    assert appointment.starts_at == at(MONDAY, 10, 10)


# --- constraints ----------------------------------------------------------------------------------


def test_a_given_day(cal, clinic):
    wanted = SlotConstraints(day=WEDNESDAY)
    slots = cal.find_slots(clinic.practice_id, practitioner="docteur Lefèvre", constraints=wanted, now=NOW)
    assert {s.starts_at.date() for s in slots} == {WEDNESDAY}
    assert starts(slots) == [at(WEDNESDAY, 9), at(WEDNESDAY, 10), at(WEDNESDAY, 14)]


def test_a_day_the_practitioner_does_not_work(cal, clinic):
    wanted = SlotConstraints(day=WEDNESDAY)
    assert cal.find_slots(clinic.practice_id, practitioner="Paul Martin", constraints=wanted, now=NOW) == []


def test_a_date_range(cal, clinic):
    wanted = SlotConstraints(date_from=THURSDAY, date_to=FRIDAY)
    slots = cal.find_slots(
        clinic.practice_id, practitioner="docteur Paul Martin", constraints=wanted, limit=10, now=NOW
    )
    assert {s.starts_at.date() for s in slots} == {THURSDAY, FRIDAY}


@pytest.mark.parametrize(
    ("part", "low", "high"),
    [("le matin", time(0), time(12, 59)), ("l'après-midi", time(13), time(17, 59)), ("le soir", time(17), time(23))],
)
def test_part_of_day(cal, clinic, part, low, high):
    wanted = SlotConstraints(part_of_day=part)
    slots = cal.find_slots(clinic.practice_id, practitioner="Paul Martin", constraints=wanted, limit=5, now=NOW)
    assert len(slots) == 5
    assert all(low <= s.starts_at.time() <= high for s in slots)


def test_part_of_day_parsing():
    assert PartOfDay.parse("après-midi") is PartOfDay.afternoon
    assert PartOfDay.parse("en fin de journée") is PartOfDay.evening
    assert PartOfDay.parse("morning") is PartOfDay.morning
    with pytest.raises(InvalidRequest):
        PartOfDay.parse("à la saint-glinglin")


def test_after_17h_and_not_on_wednesday(cal, clinic):
    wanted = SlotConstraints(not_before=time(17), excluded_weekdays={2})
    slots = cal.find_slots(clinic.practice_id, profession="un généraliste", constraints=wanted, limit=6, now=NOW)
    assert all(s.starts_at.time() >= time(17) for s in slots)
    assert all(s.starts_at.weekday() != 2 for s in slots)
    late = SlotConstraints(not_before=time(18), excluded_weekdays={2})
    slots = cal.find_slots(clinic.practice_id, profession="un généraliste", constraints=late, limit=6, now=NOW)
    assert {s.practitioner_id for s in slots} == {clinic.practitioners["paul_martin"]}  # Claire stops at 18:00


def test_excluded_days(cal, clinic):
    wanted = SlotConstraints(excluded_days={MONDAY, TUESDAY})
    slots = cal.find_slots(clinic.practice_id, practitioner="Paul Martin", constraints=wanted, now=NOW)
    assert starts(slots) == [at(THURSDAY, 9), at(THURSDAY, 14), at(FRIDAY, 9)]


def test_before_a_time_and_only_some_weekdays(cal, clinic):
    wanted = SlotConstraints(not_after=time(9, 30), weekdays={4})
    slots = cal.find_slots(
        clinic.practice_id, practitioner=clinic.practitioners["claire_martin"], constraints=wanted, limit=4, now=NOW
    )
    assert all(s.starts_at.weekday() == 4 and s.starts_at.time() <= time(9, 30) for s in slots)
    assert starts(slots)[:3] == [
        at(FRIDAY, 8, 30),
        at(FRIDAY + timedelta(days=7), 8, 30),
        at(FRIDAY + timedelta(days=14), 8, 30),
    ]


def test_constraint_validation():
    with pytest.raises(InvalidRequest):
        SlotConstraints(excluded_weekdays={7})
    with pytest.raises(InvalidRequest):
        SlotConstraints(date_from=FRIDAY, date_to=MONDAY)
    with pytest.raises(InvalidRequest):
        SlotConstraints(duration_minutes=500)


def test_limit_is_bounded(cal, clinic):
    with pytest.raises(InvalidRequest):
        cal.find_slots(clinic.practice_id, limit=0, now=NOW)
    slots = cal.find_slots(clinic.practice_id, practitioner="Paul Martin", limit=12, now=NOW)
    assert len(slots) == 12 and len(set(slots)) == 12


def test_scarce_day_fills_with_spaced_slots(cal, clinic):
    wanted = SlotConstraints(day=MONDAY, part_of_day="matin")
    slots = cal.find_slots(clinic.practice_id, practitioner="Paul Martin", constraints=wanted, now=NOW)
    assert starts(slots) == [at(MONDAY, 9), at(MONDAY, 10), at(MONDAY, 11)]


# --- where the grid comes from --------------------------------------------------------------------


def test_lunch_break_cuts_a_rule_that_spans_it(engine, cal, clinic):
    with session_scope(engine) as session:
        session.add(
            AvailabilityRule(
                practitioner_id=clinic.practitioners["girard"],
                weekday=0,
                starts=time(12),
                ends=time(15),
                slot_minutes=30,
            )
        )
    wanted = SlotConstraints(day=MONDAY, not_before=time(12))
    slots = cal.find_slots(clinic.practice_id, practitioner="le kiné", constraints=wanted, limit=10, now=NOW)
    assert starts(slots) == [at(MONDAY, 12), at(MONDAY, 14), at(MONDAY, 14, 30)]


def test_closing_time_bounds_the_last_slot(cal, clinic):
    wanted = SlotConstraints(day=MONDAY, not_before=time(18))
    slots = cal.find_slots(clinic.practice_id, practitioner="Paul Martin", constraints=wanted, limit=10, now=NOW)
    assert starts(slots) == [at(MONDAY, 18), at(MONDAY, 18, 20), at(MONDAY, 18, 40)]


def test_saturday_morning(cal, clinic):
    wanted = SlotConstraints(weekdays={5})
    slots = cal.find_slots(clinic.practice_id, constraints=wanted, limit=3, now=NOW)
    assert {s.practitioner_id for s in slots} == {clinic.practitioners["bernard"]}
    assert all(s.starts_at.time() < time(12) for s in slots)
    assert cal.find_slots(clinic.practice_id, constraints=SlotConstraints(day=SUNDAY), now=NOW) == []


def test_public_holiday_has_no_slot(cal, clinic):
    assert cal.find_slots(clinic.practice_id, constraints=SlotConstraints(day=EASTER_MONDAY), now=NOW) == []
    week = SlotConstraints(date_from=EASTER_MONDAY, date_to=EASTER_MONDAY + timedelta(days=1))
    slots = cal.find_slots(clinic.practice_id, practitioner="Paul Martin", constraints=week, now=NOW)
    assert {s.starts_at.date() for s in slots} == {EASTER_MONDAY + timedelta(days=1)}


def test_holidays_of_the_subdivision(engine, cal):
    alsace = make_clinic(engine, slug="alsace", subdivision="57")
    lyon = make_clinic(engine, slug="lyon")
    wanted = SlotConstraints(day=GOOD_FRIDAY)
    assert cal.find_slots(alsace.practice_id, constraints=wanted, now=NOW) == []
    assert cal.find_slots(lyon.practice_id, constraints=wanted, now=NOW)


def test_practice_closure(engine, cal, clinic):
    add_closure(engine, clinic.practice_id, WEDNESDAY)
    assert cal.find_slots(clinic.practice_id, constraints=SlotConstraints(day=WEDNESDAY), now=NOW) == []


def test_absence_removes_slots(engine, cal, clinic):
    claire = clinic.practitioners["claire_martin"]
    add_absence(engine, claire, at(MONDAY, 0), at(TUESDAY, 12, 30))
    slots = cal.find_slots(clinic.practice_id, practitioner=claire, now=NOW)
    assert starts(slots) == [at(TUESDAY, 14), at(WEDNESDAY, 8, 30), at(WEDNESDAY, 14)]


def test_extra_opening_adds_slots(engine, cal, clinic):
    paul = clinic.practitioners["paul_martin"]
    add_absence(engine, paul, at(WEDNESDAY, 9), at(WEDNESDAY, 10), extra=True)
    slots = cal.find_slots(
        clinic.practice_id, practitioner=paul, constraints=SlotConstraints(day=WEDNESDAY), limit=5, now=NOW
    )
    assert starts(slots) == [at(WEDNESDAY, 9), at(WEDNESDAY, 9, 20), at(WEDNESDAY, 9, 40)]


def test_booked_slots_are_not_offered_including_long_ones(engine, cal, clinic, alice):
    claire = clinic.practitioners["claire_martin"]
    add_appointment(engine, clinic.practice_id, claire, alice, at(MONDAY, 8, 30), 40)
    wanted = SlotConstraints(day=MONDAY, part_of_day="morning")
    slots = cal.find_slots(clinic.practice_id, practitioner=claire, constraints=wanted, limit=2, now=NOW)
    assert starts(slots)[0] == at(MONDAY, 9, 10)


def test_consultation_type_sets_duration_and_fit(cal, clinic):
    wanted = SlotConstraints(day=MONDAY, part_of_day="morning", consultation_type="première consultation")
    slots = cal.find_slots(clinic.practice_id, practitioner="Claire Martin", constraints=wanted, limit=50, now=NOW)
    assert all(s.ends_at - s.starts_at == timedelta(minutes=40) for s in slots)
    assert starts(slots)[-1] == at(MONDAY, 11, 50)
    assert slots[0].consultation_type_id == cal_kind(clinic, "claire_martin:Première consultation")
    with pytest.raises(UnknownConsultationType):
        cal.find_slots(clinic.practice_id, practitioner="Paul Martin", constraints=wanted, now=NOW)


def cal_kind(clinic, key: str) -> int:
    return clinic.kinds[key]


def test_explicit_duration(cal, clinic):
    wanted = SlotConstraints(day=MONDAY, duration_minutes=60, part_of_day="matin")
    slots = cal.find_slots(clinic.practice_id, practitioner="Paul Martin", constraints=wanted, limit=50, now=NOW)
    assert starts(slots)[-1] == at(MONDAY, 11)


# --- booking --------------------------------------------------------------------------------------


def test_book_then_the_slot_is_gone(cal, clinic, alice):
    appointment = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9), reason="renouvellement")
    assert appointment.status == "booked" and not appointment.existing
    assert appointment.ends_at == at(MONDAY, 9, 20)
    assert appointment.practitioner_name == "Dr Paul Martin"
    slots = cal.find_slots(clinic.practice_id, practitioner="Paul Martin", now=NOW)
    assert at(MONDAY, 9) not in starts(slots)
    assert starts(slots)[0] == at(MONDAY, 9, 20)


def test_booking_twice_is_idempotent(engine, cal, clinic, alice):
    first = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    again = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    assert again.id == first.id and again.existing
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1


def test_taken_slot(cal, clinic, alice, bob):
    book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    with pytest.raises(SlotTaken) as caught:
        book(cal, clinic, "paul_martin", bob, at(MONDAY, 9))
    assert caught.value.code == "slot_taken"
    assert "taken" in str(caught.value)


def test_overlapping_durations(cal, clinic, alice, bob):
    first_visit = clinic.kinds["claire_martin:Première consultation"]
    book(cal, clinic, "claire_martin", alice, at(MONDAY, 9, 10), consultation_type_id=first_visit)
    with pytest.raises(SlotTaken):
        book(cal, clinic, "claire_martin", bob, at(MONDAY, 9, 30))
    with pytest.raises(SlotTaken):  # a long visit that would run into the booked one
        book(cal, clinic, "claire_martin", bob, at(MONDAY, 8, 50), consultation_type_id=first_visit)
    assert book(cal, clinic, "claire_martin", bob, at(MONDAY, 9, 50)).starts_at == at(MONDAY, 9, 50)


@pytest.mark.parametrize(
    ("when", "error"),
    [
        (at(MONDAY, 6, 40), SlotInPast),
        (datetime(2030, 3, 1, 9, 0), SlotInPast),
        (at(MONDAY, 13), OutsideOpeningHours),
        (at(MONDAY, 19, 20), OutsideOpeningHours),
        (at(SUNDAY, 9), OutsideOpeningHours),
        (at(EASTER_MONDAY, 9), OutsideOpeningHours),
        (at(MONDAY, 9, 5), SlotUnavailable),
        (at(WEDNESDAY, 10), SlotUnavailable),
        (at(SATURDAY, 9), SlotUnavailable),
    ],
)
def test_bad_slots_raise_the_precise_error(cal, clinic, alice, when, error):
    with pytest.raises(error) as caught:
        book(cal, clinic, "paul_martin", alice, when)
    assert type(caught.value) is error
    assert isinstance(caught.value, CalendarError)


def test_absence_blocks_booking(engine, cal, clinic, alice):
    add_absence(engine, clinic.practitioners["paul_martin"], at(MONDAY, 0), at(MONDAY, 23, 59))
    with pytest.raises(SlotUnavailable) as caught:
        book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    assert type(caught.value) is SlotUnavailable


def test_booking_unknowns(engine, cal, clinic, alice):
    with pytest.raises(UnknownPractitioner):
        cal.book(clinic.practice_id, practitioner_id=99999, patient_id=alice, starts_at=at(MONDAY, 9), now=NOW)
    other = make_clinic(engine, slug="autre")
    with pytest.raises(UnknownPractitioner):  # a practitioner of another practice
        cal.book(
            other.practice_id,
            practitioner_id=clinic.practitioners["paul_martin"],
            patient_id=alice,
            starts_at=at(MONDAY, 9),
            now=NOW,
        )
    with pytest.raises(UnknownPractitioner):
        book(cal, clinic, "retired", alice, at(MONDAY, 9))
    with pytest.raises(UnknownPatient):
        book(cal, clinic, "paul_martin", 99999, at(MONDAY, 9))
    with pytest.raises(UnknownConsultationType):
        book(cal, clinic, "paul_martin", alice, at(MONDAY, 9), consultation_type_id=99999)


def test_aware_start_is_converted_to_local_time(cal, clinic, alice):
    appointment = book(cal, clinic, "paul_martin", alice, datetime(2030, 3, 4, 8, 0, tzinfo=UTC))
    assert appointment.starts_at == at(MONDAY, 9)


def test_unique_index_is_the_last_line_of_defence(monkeypatch, engine, cal, clinic, alice, bob):
    add_appointment(engine, clinic.practice_id, clinic.practitioners["paul_martin"], alice, at(MONDAY, 9), 20)
    monkeypatch.setattr(SqlCalendar, "_check_bookable", staticmethod(lambda *a, **k: None))
    with pytest.raises(SlotTaken):
        book(cal, clinic, "paul_martin", bob, at(MONDAY, 9))


# --- cancel, confirm, reschedule ------------------------------------------------------------------


def test_cancel_frees_the_slot_and_is_idempotent(cal, clinic, alice):
    appointment = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    cancelled = cal.cancel(clinic.practice_id, appointment_id=appointment.id, now=NOW)
    assert cancelled.status == "cancelled" and not cancelled.existing
    again = cal.cancel(clinic.practice_id, appointment_id=appointment.id, now=NOW)
    assert again.status == "cancelled" and again.existing
    assert starts(cal.find_slots(clinic.practice_id, practitioner="Paul Martin", now=NOW))[0] == at(MONDAY, 9)
    rebooked = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    assert rebooked.id != appointment.id


def test_cancel_errors(engine, cal, clinic, alice):
    with pytest.raises(UnknownAppointment):
        cal.cancel(clinic.practice_id, appointment_id=99999, now=NOW)
    appointment = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    other = make_clinic(engine, slug="autre")
    with pytest.raises(UnknownAppointment):
        cal.cancel(other.practice_id, appointment_id=appointment.id, now=NOW)
    with pytest.raises(InvalidRequest):
        cal.cancel(clinic.practice_id, appointment_id=appointment.id, now=at(MONDAY, 9, 10))


def test_confirm(cal, clinic, alice):
    appointment = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    confirmed = cal.confirm(clinic.practice_id, appointment_id=appointment.id)
    assert confirmed.status == "confirmed" and not confirmed.existing
    assert cal.confirm(clinic.practice_id, appointment_id=appointment.id).existing
    cal.cancel(clinic.practice_id, appointment_id=appointment.id, now=NOW)
    with pytest.raises(AppointmentNotActive):
        cal.confirm(clinic.practice_id, appointment_id=appointment.id)
    with pytest.raises(UnknownAppointment):
        cal.confirm(clinic.practice_id, appointment_id=99999)


def test_reschedule_links_old_and_new(engine, cal, clinic, alice):
    old = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9), reason="vaccin")
    new = cal.reschedule(clinic.practice_id, appointment_id=old.id, starts_at=at(TUESDAY, 14), now=NOW)
    assert new.rescheduled_from_id == old.id and new.status == "booked" and new.reason == "vaccin"
    assert new.starts_at == at(TUESDAY, 14) and new.ends_at == at(TUESDAY, 14, 20)
    with session_scope(engine) as session:
        assert session.get(Appointment, old.id).status == "cancelled"
    retry = cal.reschedule(clinic.practice_id, appointment_id=old.id, starts_at=at(TUESDAY, 14), now=NOW)
    assert retry.id == new.id and retry.existing
    with pytest.raises(AppointmentNotActive):
        cal.reschedule(clinic.practice_id, appointment_id=old.id, starts_at=at(TUESDAY, 15), now=NOW)


def test_reschedule_into_a_taken_slot_changes_nothing(engine, cal, clinic, alice, bob):
    old = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    book(cal, clinic, "paul_martin", bob, at(MONDAY, 10))
    with pytest.raises(SlotTaken):
        cal.reschedule(clinic.practice_id, appointment_id=old.id, starts_at=at(MONDAY, 10), now=NOW)
    with pytest.raises(OutsideOpeningHours):
        cal.reschedule(clinic.practice_id, appointment_id=old.id, starts_at=at(SUNDAY, 10), now=NOW)
    with session_scope(engine) as session:
        assert session.get(Appointment, old.id).status == "booked"
        assert session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 2


def test_reschedule_may_overlap_its_own_old_time(cal, clinic, alice):
    first_visit = clinic.kinds["claire_martin:Première consultation"]
    old = book(cal, clinic, "claire_martin", alice, at(MONDAY, 9, 10), consultation_type_id=first_visit)
    new = cal.reschedule(clinic.practice_id, appointment_id=old.id, starts_at=at(MONDAY, 9, 30), now=NOW)
    assert (new.starts_at, new.ends_at) == (at(MONDAY, 9, 30), at(MONDAY, 10, 10))


def test_reschedule_to_another_practitioner(cal, clinic, alice):
    old = book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    new = cal.reschedule(
        clinic.practice_id,
        appointment_id=old.id,
        starts_at=at(MONDAY, 10, 10),
        practitioner_id=clinic.practitioners["claire_martin"],
        now=NOW,
    )
    assert new.practitioner_id == clinic.practitioners["claire_martin"]
    assert new.practitioner_name == "Dr Claire Martin"
    assert new.ends_at == at(MONDAY, 10, 30)


# --- patients -------------------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["06 12 34 56 78", "+33 6 12 34 56 78", "0612345678"])
def test_find_upcoming_appointments_by_phone_and_name(engine, cal, clinic, alice, bob, phone):
    mine = book(cal, clinic, "paul_martin", alice, at(TUESDAY, 9))
    earlier = book(cal, clinic, "claire_martin", alice, at(MONDAY, 14))
    book(cal, clinic, "paul_martin", bob, at(MONDAY, 9))
    gone = book(cal, clinic, "paul_martin", alice, at(THURSDAY, 9))
    cal.cancel(clinic.practice_id, appointment_id=gone.id, now=NOW)
    add_appointment(
        engine, clinic.practice_id, clinic.practitioners["paul_martin"], alice, at(MONDAY - timedelta(7), 9), 20
    )
    found = cal.find_patient_appointments(clinic.practice_id, phone=phone, last_name="Durant", now=NOW)
    assert [a.id for a in found] == [earlier.id, mine.id]
    by_birth = cal.find_patient_appointments(clinic.practice_id, phone=phone, birth_date=date(1985, 6, 12), now=NOW)
    assert [a.id for a in by_birth] == [earlier.id, mine.id]


def test_patient_lookup_needs_matching_details(cal, clinic, alice):
    book(cal, clinic, "paul_martin", alice, at(TUESDAY, 9))
    pid = clinic.practice_id
    assert cal.find_patient_appointments(pid, phone="0612345678", last_name="Lambert", now=NOW) == []
    assert cal.find_patient_appointments(pid, phone="0612345678", birth_date=date(1990, 1, 1), now=NOW) == []
    assert cal.find_patient_appointments(pid, phone="0700000000", last_name="Durand", now=NOW) == []
    with pytest.raises(InvalidRequest):
        cal.find_patient_appointments(pid, phone="0612345678", now=NOW)


def test_appointments_of_another_practice_are_not_listed(engine, cal, clinic, alice):
    other = make_clinic(engine, slug="autre")
    book(cal, other, "paul_martin", alice, at(TUESDAY, 9))
    assert cal.find_patient_appointments(clinic.practice_id, phone="0612345678", last_name="Durand", now=NOW) == []


def test_find_or_create_patient(engine, cal, clinic):
    created = cal.find_or_create_patient(
        clinic.practice_id, last_name="Lefèvre", first_name="Émile", phone="06 11 22 33 44"
    )
    assert created.created and created.phone == "+33611223344"
    same = cal.find_or_create_patient(
        clinic.practice_id,
        last_name="LEFEVRE",
        first_name="emile",
        birth_date=date(2001, 2, 3),
        phone="+33 6 11 22 33 44",
    )
    assert same.id == created.id and not same.created
    sibling = cal.find_or_create_patient(clinic.practice_id, last_name="Lefèvre", first_name="Zoé", phone="0611223344")
    assert sibling.id != created.id and sibling.created
    with session_scope(engine) as session:
        assert session.get(Patient, created.id).birth_date == date(2001, 2, 3)
    with pytest.raises(InvalidRequest):
        cal.find_or_create_patient(clinic.practice_id, last_name=" ")


def test_errors_carry_codes_and_no_patient_data(cal, clinic, alice):
    book(cal, clinic, "paul_martin", alice, at(MONDAY, 9))
    with pytest.raises(SlotTaken) as caught:
        book(cal, clinic, "paul_martin", make_patient_like(cal, clinic), at(MONDAY, 9))
    assert "Durand" not in str(caught.value) and "0612345678" not in str(caught.value)


def make_patient_like(cal, clinic) -> int:
    return cal.find_or_create_patient(clinic.practice_id, last_name="Autre", phone="0600000001").id
