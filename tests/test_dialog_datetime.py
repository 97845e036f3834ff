"""Dates, times, intervals and birth dates from caller speech (Duckling), on a fixed reference time."""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time

import pytest

from agent.dialog.datetime_fr import DateTimeParser, default_parser, parse_birth_date, parse_when
from agent.dialog.when import PARIS, PartOfDay, WhenConstraint

pytestmark = pytest.mark.unit

REF = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)  # a Tuesday
MON, TUE, WED, THU, FRI = range(5)


@pytest.fixture(scope="module")
def parser() -> DateTimeParser:
    return default_parser()


WHEN_CASES = [
    ("mardi prochain vers dix heures", WhenConstraint(day=date(2026, 12, 1), at=time(10, 0), approximate=True)),
    (
        "demain en fin de matinée",
        WhenConstraint(
            day=date(2026, 11, 25), part_of_day=PartOfDay.MORNING, not_before=time(10, 0), not_after=time(11, 59)
        ),
    ),
    ("dans quinze jours", WhenConstraint(day=date(2026, 12, 9))),
    ("jeudi après-midi", WhenConstraint(day=date(2026, 11, 26), part_of_day=PartOfDay.AFTERNOON)),
    ("plutôt le matin", WhenConstraint(part_of_day=PartOfDay.MORNING)),
    ("après 17 h", WhenConstraint(not_before=time(17, 0))),
    ("pas le mercredi", WhenConstraint(excluded_weekdays=frozenset({WED}))),
    ("non, pas mardi", WhenConstraint(excluded_weekdays=frozenset({TUE}))),
    ("la semaine prochaine", WhenConstraint(date_from=date(2026, 11, 30), date_to=date(2026, 12, 6))),
    ("le 3 décembre", WhenConstraint(day=date(2026, 12, 3))),
    ("lundi 14h30", WhenConstraint(day=date(2026, 11, 30), at=time(14, 30))),
    ("non, pas mardi, mercredi", WhenConstraint(day=date(2026, 11, 25), excluded_weekdays=frozenset({TUE}))),
    (
        "mercredi ou jeudi",
        WhenConstraint(date_from=date(2026, 11, 25), date_to=date(2026, 11, 26), weekdays=frozenset({WED, THU})),
    ),
    ("pas avant 10 heures", WhenConstraint(not_before=time(10, 0))),
    ("entre 14h et 16h", WhenConstraint(not_before=time(14, 0), not_after=time(16, 0))),
    ("avant 11h", WhenConstraint(not_after=time(10, 59))),
    ("jusqu'à 16h", WhenConstraint(not_after=time(16, 0))),
    ("plutôt l'aprem", WhenConstraint(part_of_day=PartOfDay.AFTERNOON)),
    ("pas le matin", WhenConstraint(not_before=time(12, 0))),
    ("je ne peux pas le vendredi", WhenConstraint(excluded_weekdays=frozenset({FRI}))),
    ("mercredi c'est pas possible", WhenConstraint(excluded_weekdays=frozenset({WED}))),
    ("le matin mais pas le lundi", WhenConstraint(part_of_day=PartOfDay.MORNING, excluded_weekdays=frozenset({MON}))),
    ("du 3 au 10 décembre", WhenConstraint(date_from=date(2026, 12, 3), date_to=date(2026, 12, 10))),
    ("ce soir", WhenConstraint(day=date(2026, 11, 24), part_of_day=PartOfDay.EVENING)),
    ("jeudi 3 décembre à 9h", WhenConstraint(day=date(2026, 12, 3), at=time(9, 0))),
    ("pas le 3 décembre", WhenConstraint(excluded_days=frozenset({date(2026, 12, 3)}))),
    ("next Tuesday at 3pm", WhenConstraint(day=date(2026, 12, 1), at=time(15, 0))),
    ("tomorrow morning", WhenConstraint(day=date(2026, 11, 25), part_of_day=PartOfDay.MORNING)),
    ("not on Wednesday", WhenConstraint(excluded_weekdays=frozenset({WED}))),
    ("je voudrais un rendez-vous", WhenConstraint()),
    # speech-recognition spellings and spoken forms
    ("mardi prochain vers dix heure", WhenConstraint(day=date(2026, 12, 1), at=time(10, 0), approximate=True)),
    ("jeudi aprèm", WhenConstraint(day=date(2026, 11, 26), part_of_day=PartOfDay.AFTERNOON)),
    ("quinze heures trente", WhenConstraint(at=time(15, 30))),
    # a clock time without "soir"/"pm" is read within surgery hours, whatever the time of the call
    ("neuf heures et demie", WhenConstraint(at=time(9, 30))),
    ("à 8h", WhenConstraint(at=time(8, 0))),
    ("ce soir à 8h", WhenConstraint(day=date(2026, 11, 24), part_of_day=PartOfDay.EVENING, at=time(20, 0))),
    # open date ranges
    ("pas avant jeudi", WhenConstraint(date_from=date(2026, 11, 26))),
    ("à partir de lundi", WhenConstraint(date_from=date(2026, 11, 30))),
    ("après le 15 décembre", WhenConstraint(date_from=date(2026, 12, 16))),
    ("avant le 10 décembre", WhenConstraint(date_to=date(2026, 12, 9))),
    ("jusqu'à vendredi", WhenConstraint(date_to=date(2026, 11, 27))),
    ("d'ici la fin du mois", WhenConstraint(date_from=date(2026, 11, 24), date_to=date(2026, 11, 30))),
    ("le mois prochain", WhenConstraint(date_from=date(2026, 12, 1), date_to=date(2026, 12, 31))),
    (
        "lundi ou mardi matin",
        WhenConstraint(
            date_from=date(2026, 11, 24),
            date_to=date(2026, 11, 30),
            weekdays=frozenset({MON, TUE}),
            part_of_day=PartOfDay.MORNING,
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), WHEN_CASES, ids=[text for text, _ in WHEN_CASES])
def test_when(parser: DateTimeParser, text: str, expected: WhenConstraint) -> None:
    assert parser.when(text, REF) == expected


def test_english_locale_is_used_when_asked(parser: DateTimeParser) -> None:
    assert parser.when("after 5pm", REF, lang="en") == WhenConstraint(not_before=time(17, 0))


def test_exact_moment_is_paris_time() -> None:
    constraint = parse_when("lundi 14h30", REF)
    assert constraint.exact == datetime(2026, 11, 30, 14, 30, tzinfo=PARIS)
    assert parse_when("jeudi après-midi", REF).exact is None


def test_naive_reference_is_read_as_paris_time() -> None:
    assert parse_when("demain", REF.replace(tzinfo=None)) == WhenConstraint(day=date(2026, 11, 25))


def test_slot_query_maps_onto_the_calendar_fields() -> None:
    query = parse_when("jeudi après-midi mais pas après 16h", REF).slot_query()
    assert query == {"day": date(2026, 11, 26), "part_of_day": "après-midi", "not_after": time(16, 0)}


def test_slot_query_widens_an_approximate_time() -> None:
    query = parse_when("mardi prochain vers dix heures", REF).slot_query()
    assert query == {"day": date(2026, 12, 1), "not_before": time(9, 0), "not_after": time(11, 0)}
    assert parse_when("lundi 14h30", REF).slot_query()["not_before"] == time(14, 30)


def test_slot_query_keeps_exclusions() -> None:
    assert parse_when("non, pas mardi", REF).slot_query() == {"excluded_weekdays": frozenset({TUE})}


def test_merged_accumulates_exclusions_and_replaces_days() -> None:
    first = parse_when("jeudi après-midi", REF)
    second = parse_when("non, pas jeudi, plutôt vendredi", REF)
    merged = first.merged(second)
    assert merged.day == date(2026, 11, 27)
    assert merged.part_of_day is PartOfDay.AFTERNOON
    assert merged.excluded_weekdays == frozenset({THU})


def test_allows_filters_excluded_days() -> None:
    constraint = parse_when("pas le mercredi ni le 3 décembre", REF)
    assert not constraint.allows(datetime(2026, 11, 25, 9, 0, tzinfo=PARIS))
    assert not constraint.allows(datetime(2026, 12, 3, 9, 0, tzinfo=PARIS))
    assert constraint.allows(datetime(2026, 11, 26, 9, 0, tzinfo=PARIS))


BIRTH_CASES = [
    ("née le douze mars deux mille vingt", date(2020, 3, 12)),
    ("12/03/1948", date(1948, 3, 12)),
    ("le 3 mai 56", date(1956, 5, 3)),
    ("trente et un janvier mille neuf cent cinquante-deux", date(1952, 1, 31)),
    ("le 3 mai 20", date(2020, 5, 3)),
    ("12 03 48", date(1948, 3, 12)),
    ("je suis né le premier avril quatre-vingt-deux", date(1982, 4, 1)),
    ("le vingt-cinq décembre quatre-vingt-dix-neuf", date(1999, 12, 25)),
    ("May 3rd, 1956", date(1956, 5, 3)),
    ("né le 5 juin 2030", None),
    ("le 31 février 1980", None),
    ("le douze mars", None),
    ("je ne sais pas", None),
]


@pytest.mark.parametrize(("text", "expected"), BIRTH_CASES, ids=[text for text, _ in BIRTH_CASES])
def test_birth_date(parser: DateTimeParser, text: str, expected: date | None) -> None:
    assert parser.birth_date(text, REF) == expected


def test_two_digit_year_never_lands_in_the_future() -> None:
    assert parse_birth_date("le 3 décembre 26", REF) == date(1926, 12, 3)
    assert parse_birth_date("le 3 novembre 26", REF) == date(2026, 11, 3)


def test_about_a_millisecond_per_call(parser: DateTimeParser) -> None:
    texts = [text for text, _ in WHEN_CASES] * 5
    start = clock.perf_counter()
    for text in texts:
        parser.when(text, REF)
    per_call_ms = (clock.perf_counter() - start) * 1000 / len(texts)
    assert per_call_ms < 5, per_call_ms  # ~0.3 ms measured; generous for a loaded CI machine
