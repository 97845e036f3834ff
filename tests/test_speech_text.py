"""French text normalisation for the TTS: numbers, times, dates, phone numbers, abbreviations."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.speech_text import (
    date_to_words,
    normalize_for_speech,
    normalize_fr,
    number_to_words,
    ordinal_to_words,
    phone_to_words,
    time_to_words,
)

pytestmark = pytest.mark.unit

TODAY = dt.date(2026, 3, 1)  # a Sunday


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zéro"), (1, "un"), (16, "seize"), (17, "dix-sept"), (21, "vingt et un"), (22, "vingt-deux"),
        (70, "soixante-dix"), (71, "soixante et onze"), (77, "soixante-dix-sept"), (80, "quatre-vingts"),
        (81, "quatre-vingt-un"), (91, "quatre-vingt-onze"), (99, "quatre-vingt-dix-neuf"), (100, "cent"),
        (101, "cent un"), (180, "cent quatre-vingts"), (200, "deux cents"), (201, "deux cent un"),
        (1000, "mille"), (1985, "mille neuf cent quatre-vingt-cinq"), (2000, "deux mille"),
        (2026, "deux mille vingt-six"), (9999, "neuf mille neuf cent quatre-vingt-dix-neuf"),
        (80000, "quatre-vingt mille"), (200000, "deux cent mille"),
    ],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


def test_feminine_and_ordinals() -> None:
    assert number_to_words(21, feminine=True) == "vingt et une"
    assert number_to_words(1, feminine=True) == "une"
    assert [ordinal_to_words(n) for n in (1, 2, 5, 9, 11, 21, 80, 100)] == [
        "premier", "deuxième", "cinquième", "neuvième", "onzième", "vingt et unième", "quatre-vingtième",
        "centième",
    ]
    with pytest.raises(ValueError):
        number_to_words(1_000_000)


@pytest.mark.parametrize(
    ("hours", "minutes", "words"),
    [(14, 30, "quatorze heures trente"), (9, 0, "neuf heures"), (1, 0, "une heure"),
     (21, 21, "vingt et une heures vingt et une"), (12, 5, "douze heures cinq"), (0, 0, "zéro heure")],
)
def test_time_to_words(hours: int, minutes: int, words: str) -> None:
    assert time_to_words(hours, minutes) == words


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("RDV à 14 h 30.", "rendez-vous à quatorze heures trente."),
        ("à 14h30", "à quatorze heures trente"),
        ("à 9 h demain", "à neuf heures demain"),
        ("à 9h.", "à neuf heures."),
        ("vers 10:15", "vers dix heures quinze"),
        ("il y a 3 heures", "il y a trois heures"),
    ],
)
def test_times_in_text(text: str, spoken: str) -> None:
    assert normalize_fr(text, today=TODAY) == spoken


def test_dates_get_a_weekday_and_a_year_only_when_needed() -> None:
    assert normalize_fr("le 12/03", today=TODAY) == "le jeudi douze mars"
    assert normalize_fr("le 2026-03-12", today=TODAY) == "le jeudi douze mars"
    assert normalize_fr("le 01/01", today=TODAY) == "le vendredi premier janvier deux mille vingt-sept"
    assert normalize_fr("né le 12/03/1985", today=TODAY) == "né le douze mars mille neuf cent quatre-vingt-cinq"
    assert date_to_words(dt.date(2026, 3, 10), today=TODAY) == "mardi dix mars"
    assert normalize_fr("le 31/02", today=TODAY) == "le 31/02"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("06 12 34 56 78", "zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit"),
        ("0612345678", "zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit"),
        ("01.45.00.07.80", "zéro un, quarante-cinq, zéro zéro, zéro sept, quatre-vingts"),
        ("+33 6 12 34 56 78", "plus trente-trois, six, douze, trente-quatre, cinquante-six, soixante-dix-huit"),
    ],
)
def test_phone_numbers_are_read_in_pairs(text: str, spoken: str) -> None:
    assert phone_to_words(text) == spoken
    assert normalize_fr(f"Appelez le {text}.", today=TODAY) == f"Appelez le {spoken}."


def test_emergency_and_service_numbers() -> None:
    text = "Appelez le 15, le 112, le 116 117 ou le 3114."
    assert normalize_fr(text, today=TODAY) == (
        "Appelez le quinze, le cent douze, le cent seize, cent dix-sept ou le trente et un, quatorze."
    )


def test_titles_and_abbreviations() -> None:
    text = "Le Dr Martin, le Dr. Petit, Mme Durand et M. Leroy : n° 5, 1er étage, 25 €, 10 %."
    assert normalize_fr(text, today=TODAY) == (
        "Le docteur Martin, le docteur Petit, madame Durand et monsieur Leroy : numéro cinq, premier étage, "
        "vingt-cinq euros, dix pour cent."
    )
    assert normalize_fr("Il est 5 h. M. le maire", today=TODAY) == "Il est cinq heures. M. le maire"


def test_language_dispatch() -> None:
    assert normalize_for_speech("Dr Smith at 3 pm", "en") == "Doctor Smith at 3 pm"
    assert normalize_for_speech("Dr Martin à 15 h", "fr-FR", today=TODAY) == "docteur Martin à quinze heures"
