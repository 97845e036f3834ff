"""Phone numbers, names, slot choices, dialog acts and practitioner mentions in caller speech."""

from __future__ import annotations

from datetime import datetime

import pytest

from agent.dialog.entities import (
    Answer,
    Correction,
    PersonName,
    Span,
    choice,
    correction,
    is_goodbye,
    is_repeat_request,
    person_name,
    phone_number,
    practitioner_mentions,
    yes_no,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", "+33612345678"),
        ("zero six un deux trois quatre cinq six sept huit", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit", "+33612345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("mon numéro c'est le 01.45.67.89.10", "+33145678910"),
        ("zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit", "+33612345678"),
        ("zero six twelve thirty four fifty six seventy eight", "+33612345678"),
        ("06 12 34", None),
        ("je voudrais un rendez-vous", None),
    ],
)
def test_phone_number(text: str, expected: str | None) -> None:
    lang = "en" if "twelve" in text else "fr"
    assert phone_number(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "expected", "expected_flag"),
    [
        ("je m'appelle Jeanne Rousseau", PersonName("Jeanne", "Rousseau"), False),
        ("c'est madame Rousseau", PersonName(None, "Rousseau", "madame"), False),
        ("Rousseau, R O U S S E A U", PersonName(None, "Rousseau", None, "ROUSSEAU"), False),
        ("oui alors je m'appelle lefebvre, l e f e b v r e", PersonName(None, "Lefebvre", None, "LEFEBVRE"), False),
        ("Jeanne Rousseau", None, False),
        ("Jeanne Rousseau", PersonName("Jeanne", "Rousseau"), True),
        ("my name is John Smith", PersonName("John", "Smith"), False),
        ("bonjour c'est monsieur Dupont je voudrais un rendez-vous", PersonName(None, "Dupont", "monsieur"), False),
        ("je m'appelle Marie-Claire Dubois-Martin", PersonName("Marie-Claire", "Dubois-Martin"), False),
        ("je voudrais un rendez-vous", None, True),
    ],
)
def test_person_name(text: str, expected: PersonName | None, expected_flag: bool) -> None:
    assert person_name(text, expected=expected_flag) == expected


def test_spelling_replaces_a_misheard_family_name() -> None:
    name = person_name("je m'appelle Jeanne Rousso, R O U S S E A U")
    assert name == PersonName("Jeanne", "Rousseau", None, "ROUSSEAU")
    assert name is not None and name.full == "Jeanne Rousseau"


OPTIONS = [datetime(2026, 11, 26, 10, 40), datetime(2026, 11, 27, 14, 0), datetime(2026, 11, 30, 9, 0)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("le premier", 0),
        ("la deuxième", 1),
        ("le dernier", 2),
        ("le troisième", 2),
        ("celui de jeudi", 0),
        ("celui à 10 h 40", 0),
        ("celui de dix heures quarante", 0),
        ("celui de 14h", 1),
        ("vendredi ça m'irait", 1),
        ("the second one", 1),
        ("the first one please", 0),
        ("the Monday one", 2),
        ("le plus tôt", 0),
        ("pas le premier", None),
        ("le premier décembre", None),
        ("celui de 16h", None),
        ("euh je sais pas", None),
    ],
)
def test_choice(text: str, expected: int | None) -> None:
    assert choice(text, OPTIONS) == expected


def test_choice_among_two_same_day_slots_uses_the_part_of_day() -> None:
    same_day = [datetime(2026, 11, 26, 9, 0), datetime(2026, 11, 26, 15, 0)]
    assert choice("jeudi après-midi", same_day) == 1
    assert choice("jeudi matin", same_day) == 0
    assert choice("jeudi", same_day) is None
    assert choice("le quatrième", same_day) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oui", Answer.YES),
        ("ouais", Answer.YES),
        ("d'accord", Answer.YES),
        ("ça me va", Answer.YES),
        ("parfait", Answer.YES),
        ("oui oui c'est bien ça", Answer.YES),
        ("pas de problème", Answer.YES),
        ("yeah sounds good", Answer.YES),
        ("non", Answer.NO),
        ("pas du tout", Answer.NO),
        ("ça ne me va pas", Answer.NO),
        ("c'est pas possible", Answer.NO),
        ("non, pas mardi, mercredi", Answer.NO),
        ("no thanks", Answer.NO),
        ("euh je sais pas", Answer.UNSURE),
        ("peut-être", Answer.UNSURE),
        ("I'm not sure", Answer.UNSURE),
        ("le docteur Martin", None),
        ("", None),
    ],
)
def test_yes_no(text: str, expected: Answer | None) -> None:
    assert yes_no(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("non, pas mardi, mercredi", Correction("mardi", "mercredi")),
        ("pas mardi mais mercredi", Correction("mardi", "mercredi")),
        ("non non pas le matin, l'après-midi", Correction("le matin", "l après-midi")),
        ("je voulais dire quinze heures", Correction(None, "quinze heures")),
        ("non c'est Rousseau", Correction(None, "Rousseau")),
        ("not Tuesday, Wednesday", Correction("Tuesday", "Wednesday")),
        ("I meant the second one", Correction(None, "the second one")),
        ("oui", None),
        ("non", None),
    ],
)
def test_correction(text: str, expected: Correction | None) -> None:
    assert correction(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pardon ?", True),
        ("comment ?", True),
        ("vous pouvez répéter", True),
        ("hein ?", True),
        ("excusez-moi j'ai pas bien entendu", True),
        ("sorry?", True),
        ("could you repeat that", True),
        ("pardon, je voudrais un rendez-vous", False),
        ("comment venir au cabinet", False),
        ("vous avez dit que c'était jeudi, c'est ça", False),
    ],
)
def test_repeat_request(text: str, expected: bool) -> None:
    assert is_repeat_request(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("au revoir", True),
        ("merci c'est tout", True),
        ("bon ben merci bonne journée", True),
        ("thanks, that's all, bye", True),
        ("je voudrais un rendez-vous", False),
    ],
)
def test_goodbye(text: str, expected: bool) -> None:
    assert is_goodbye(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("avec le docteur Martin", [Span("docteur Martin", 8, 22, "name")]),
        ("chez la sage-femme", [Span("sage-femme", 8, 18, "role")]),
        ("je voudrais voir le Dr Lefèvre demain", [Span("Dr Lefèvre", 20, 30, "name")]),
        ("le docteur Martin Dupont", [Span("docteur Martin Dupont", 3, 24, "name")]),
        (
            "un rendez-vous avec madame Durand la kiné",
            [Span("madame Durand", 20, 33, "name"), Span("kiné", 37, 41, "role")],
        ),
        ("rendez-vous avec le médecin généraliste", [Span("médecin généraliste", 20, 39, "role")]),
        ("with doctor Smith please", [Span("doctor Smith", 5, 17, "name")]),
        ("c'est madame Rousseau", []),
        ("je voudrais un rendez-vous demain", []),
    ],
)
def test_practitioner_mentions(text: str, expected: list[Span]) -> None:
    found = practitioner_mentions(text)
    assert found == expected
    assert all(text[span.start : span.end] == span.text for span in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Un bupil.", None), ("une", 0), ("le un", 0), ("numéro deux", 1), ("euh trois", 2),
     ("j'ai deux enfants", None), ("option three", 2)],
)
def test_cardinals_pick_an_option_only_after_a_determiner_or_alone(text: str, expected: int | None):
    options = [datetime(2026, 11, 25, 9, 0), datetime(2026, 11, 26, 14, 0), datetime(2026, 11, 27, 10, 40)]
    assert choice(text, options) == expected
