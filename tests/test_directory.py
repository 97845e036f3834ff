"""The practitioner directory: names as callers and ASR say them, professions from lay words."""

from __future__ import annotations

import pytest

from practice.directory import (
    PractitionerRecord,
    detect_professions,
    find_by_profession,
    match_names,
    record_professions,
    resolve,
)
from practice.phones import normalise_phone, phone_variants
from practice.textnorm import normalise, phonetic_key

pytestmark = pytest.mark.unit

RECORDS = [
    PractitionerRecord(1, "Dr", "Claire", "Martin", "Médecin généraliste"),
    PractitionerRecord(2, "Dr", "Paul", "Martin", "Médecin généraliste"),
    PractitionerRecord(3, "Dr", "Jean", "Lefebvre", "Médecin", "Pédiatrie"),
    PractitionerRecord(4, "Mme", "Sophie", "Dubois", "Sage-femme"),
    PractitionerRecord(5, "M.", "Marc", "Dubois", "Masseur-kinésithérapeute"),
    PractitionerRecord(6, "Mme", "Julie", "Bernard", "Infirmière"),
    PractitionerRecord(7, "Dr", "Anne", "Le Gall", "Pédiatre"),
    PractitionerRecord(8, "Dr", "Henri", "Vasseur", "Médecin généraliste", active=False),
]


def ids(resolution_or_matches) -> list[int]:
    matches = getattr(resolution_or_matches, "matches", resolution_or_matches)
    return [m.record.id for m in matches]


def test_normalise_strips_accents_case_and_punctuation():
    assert normalise("  Le Docteur LEFÈVRE, l'infirmière ") == "le docteur lefevre l infirmiere"
    assert normalise("Cœur") == "coeur"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Lefèvre", "Lefebvre"),
        ("Martin", "Martine"),
        ("Dupont", "Dupond"),
        ("Philippe", "Filip"),
        ("Girard", "Guirard"),
    ],
)
def test_phonetic_key_merges_french_homophones(a, b):
    assert phonetic_key(a) == phonetic_key(b)


def test_phonetic_key_keeps_different_names_apart():
    assert phonetic_key("Martin") != phonetic_key("Bernard")
    assert phonetic_key("Lefebvre") != phonetic_key("Leroy")


def test_full_name_resolves_one_of_two_homonyms():
    resolution = resolve("docteur Paul Martin", RECORDS)
    assert not resolution.ambiguous
    assert resolution.best is not None and resolution.best.record.id == 2
    assert resolution.kind == "name"


@pytest.mark.parametrize("text", ["docteur Martin", "Dr Martine", "le docteur Martin s'il vous plaît"])
def test_two_doctors_martin_are_reported_as_ambiguous(text):
    resolution = resolve(text, RECORDS)
    assert resolution.ambiguous
    assert resolution.best is None
    assert ids(resolution)[:2] == [1, 2]


@pytest.mark.parametrize("text", ["le docteur Lefèvre", "docteur lefebvre", "Dr LEFEVRE", "docteur Lefaivre"])
def test_asr_spellings_of_lefebvre(text):
    resolution = resolve(text, RECORDS)
    assert resolution.best is not None and resolution.best.record.id == 3


def test_phonetic_match_is_labelled():
    matches = match_names("docteur Lefaivre", RECORDS)
    assert matches[0].record.id == 3
    assert matches[0].reason in {"name", "phonetic"}


def test_profession_hint_separates_two_dubois():
    resolution = resolve("madame Dubois la sage-femme", RECORDS)
    assert resolution.best is not None and resolution.best.record.id == 4
    kine = resolve("monsieur Dubois le kiné", RECORDS)
    assert kine.best is not None and kine.best.record.id == 5
    assert resolve("Dubois", RECORDS).ambiguous


def test_multi_word_last_name():
    resolution = resolve("le docteur Le Gall", RECORDS)
    assert resolution.best is not None and resolution.best.record.id == 7
    assert resolve("docteur legal", RECORDS).best is not None


def test_inactive_practitioners_are_not_matched():
    assert resolve("docteur Vasseur", RECORDS).kind == "none"


def test_unknown_name_is_nobody():
    resolution = resolve("docteur Durand", RECORDS)
    assert resolution.kind == "none" and resolution.matches == ()


def test_time_words_are_not_taken_for_a_name():
    # "matin" is one letter away from "Martin": a sentence must not resolve to the doctors Martin.
    resolution = resolve("je voudrais un rendez-vous demain matin avec le pédiatre", RECORDS)
    assert resolution.kind == "profession"
    assert ids(resolution) == [3, 7]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("un pédiatre", "pediatre"),
        ("le kiné", "kinesitherapeute"),
        ("kinésithérapeute", "kinesitherapeute"),
        ("la sage-femme", "sage-femme"),
        ("la sage femme", "sage-femme"),
        ("l'infirmière", "infirmier"),
        ("un infirmier", "infirmier"),
        ("un généraliste", "generaliste"),
        ("mon médecin traitant", "generaliste"),
        ("un médecin", "generaliste"),
        ("a GP", "generaliste"),
        ("physio", "kinesitherapeute"),
        ("a midwife", "sage-femme"),
        ("the nurse", "infirmier"),
        ("a pediatrician", "pediatre"),
        ("kinésithérapeuthe", "kinesitherapeute"),
        ("des pédiatres", "pediatre"),
    ],
)
def test_lay_words_name_professions(text, key):
    assert detect_professions(text) == (key,)


def test_specialty_beats_the_generic_medecin():
    assert record_professions(RECORDS[2]) == frozenset({"pediatre"})
    assert record_professions(RECORDS[4]) == frozenset({"kinesitherapeute"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("un pédiatre", [3, 7]),
        ("le kiné", [5]),
        ("la sage-femme", [4]),
        ("l'infirmière", [6]),
        ("un généraliste", [1, 2]),
        ("a GP", [1, 2]),
        ("nurse", [6]),
    ],
)
def test_find_by_profession(text, expected):
    assert ids(find_by_profession(text, RECORDS)) == expected


def test_profession_absent_from_the_practice():
    assert find_by_profession("un dentiste", RECORDS) == []
    assert resolve("un dentiste", RECORDS).kind == "none"
    assert find_by_profession("bonjour", RECORDS) == []


def test_scores_are_ranked():
    matches = match_names("docteur Paul Martin", RECORDS)
    assert [m.record.id for m in matches] == [2, 1]
    assert matches[0].score > matches[1].score


@pytest.mark.parametrize(
    "raw",
    ["06 12 34 56 78", "+33 6 12 34 56 78", "0612345678", "06.12.34.56.78", "0033612345678", "+33 (0)6 12 34 56 78"],
)
def test_french_phone_numbers_normalise(raw):
    assert normalise_phone(raw) == "+33612345678"


def test_phone_variants_cover_stored_spellings():
    variants = phone_variants("0612345678")
    assert {"+33612345678", "0612345678", "06 12 34 56 78"} <= set(variants)
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
