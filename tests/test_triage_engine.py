"""Unit tests of the triage engine: normalisation, ASR tolerance, scope, context, protocol errors, safety."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalation.thresholds import Thresholds
from escalation.triage import (
    CallContext,
    ProtocolError,
    TriageEngine,
    load_protocol,
    max_level,
)
from escalation.triage.matching import Term, TermMatcher
from escalation.triage.normalise import clean, fold, numbers, tokenise
from prompts import triage_files

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def engine() -> TriageEngine:
    return TriageEngine.default()


def _numbers(text: str) -> list[float]:
    safe = clean(text)
    return [n.value for n in numbers(safe, tokenise(safe))]


# --- normalisation ---------------------------------------------------------------------------------------


def test_fold_strips_case_accents_and_ligatures() -> None:
    assert fold("Œdème à la Poitrine, FIÈVRE") == "oedeme a la poitrine, fievre"


def test_elisions_are_split_into_words() -> None:
    assert [t.norm for t in tokenise("je n'ai pas d'fièvre, j’ai mal")] == [
        "je", "n", "ai", "pas", "d", "fievre", "j", "ai", "mal",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("il a trente-neuf cinq", [39.5]),
        ("il a 38 5 depuis ce matin", [38.5]),
        ("38,5", [38.5]),
        ("39°", [39.0]),
        ("38°5", [38.5]),
        ("trente-huit et demi", [38.5]),
        ("thirty nine point five", [39.5]),
        ("a fever of a hundred and two", [102.0]),
        ("ma mère de quatre-vingt-cinq ans", [85.0]),
    ],
)
def test_numbers_in_digits_and_words(text: str, expected: list[float]) -> None:
    assert _numbers(text) == expected


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("ma fille de dix-huit mois a de la fièvre", 18.0),
        ("ma fille de deux mois a de la fièvre", 2.0),
        ("mon bébé de 6 semaines a de la fièvre", 1.38),
        ("ma mère de 85 ans a de la fièvre", 1020.0),
        ("le petit a un mois et demi il a de la fièvre", 1.5),
        ("my son is two months old and has a fever", 2.0),
        ("my dad is 88 and he's got a fever", 1056.0),
    ],
)
def test_ages_are_extracted(engine: TriageEngine, text: str, months: float) -> None:
    assert engine.assess(text).findings["age_months"] == pytest.approx(months, abs=0.01)


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("il a trente-neuf cinq de fièvre", 39.5),
        ("elle a 38 5", 38.5),
        ("fièvre à 38,5", 38.5),
        ("il est à 39° ce matin", 39.0),
        ("a temperature of one hundred and two", 38.9),
        ("my daughter's had a temperature of thirty-nine point four", 39.4),
    ],
)
def test_temperatures_are_extracted(engine: TriageEngine, text: str, celsius: float) -> None:
    assert engine.assess(text).findings["temperature_c"] == pytest.approx(celsius, abs=0.05)


def test_numbers_that_are_not_temperatures(engine: TriageEngine) -> None:
    assert engine.assess("je suis enceinte de trente-huit semaines").findings["temperature_c"] is None
    assert engine.assess("il a 39 ans").findings["temperature_c"] is None
    assert engine.assess("il y a deux ans").findings["age_months"] is None


# --- ASR tolerance -----------------------------------------------------------------------------------------


def test_misheard_chest_still_matches(engine: TriageEngine) -> None:
    decision = engine.assess("j'ai mal à la poivrine ça me serre")
    assert decision.level == "emergency"
    assert "chest_pain" in decision.rule_ids


def test_misheard_verb_form_still_matches(engine: TriageEngine) -> None:
    assert engine.assess("j'ai du mal à respiré").level == "emergency"


def test_short_words_need_an_exact_match() -> None:
    matcher = TermMatcher([Term("mal"), Term("poitrine")], 84)
    assert matcher.keys_for("mol") == frozenset()
    assert matcher.keys_for("poivrine") == frozenset({"poitrine"})


def test_prefix_terms_match_inflections() -> None:
    matcher = TermMatcher([Term("respir", prefix=True)], 84)
    assert "respir*" in matcher.keys_for("respirait")


def test_fuzzy_threshold_is_honoured(engine: TriageEngine) -> None:
    strict = engine.with_thresholds(Thresholds(fuzzy_match_min_score=100))
    assert "chest_pain" not in strict.assess("j'ai mal à la poivrine").rule_ids
    assert "chest_pain" in strict.assess("j'ai mal à la poitrine").rule_ids


# --- negation, history, third parties ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "je n'ai pas de douleur à la poitrine, c'est pour mon renouvellement",
        "pas de fièvre, il a juste le nez qui coule",
        "sans difficulté à respirer, je voudrais un certificat",
        "no chest pain, I just need my tablets renewed",
        "he doesn't have a fever, he just has a runny nose",
        "je ne suis pas enceinte et je voudrais une prise de sang",
    ],
)
def test_negated_findings_do_not_fire(engine: TriageEngine, text: str) -> None:
    decision = engine.assess(text)
    assert decision.level == "routine", decision.to_dict()
    assert not decision.findings["fever"]


def test_negation_stays_inside_its_scope(engine: TriageEngine) -> None:
    decision = engine.assess("pas de fièvre mais j'ai mal à la poitrine et je transpire")
    assert decision.level == "emergency"
    assert not decision.findings["fever"]


def test_inability_is_not_a_negation(engine: TriageEngine) -> None:
    assert engine.assess("il n'arrive pas à respirer").level == "emergency"
    assert engine.assess("je ne peux plus respirer").level == "emergency"
    assert engine.assess("il ne répond pas quand je lui parle").level == "emergency"


def test_distant_history_is_not_an_emergency(engine: TriageEngine) -> None:
    assert engine.assess("il a fait un AVC il y a deux ans, c'est pour un renouvellement").level == "routine"
    assert engine.assess("j'ai eu un infarctus en 2015, je voudrais un rendez-vous").level == "routine"


def test_recent_or_passed_stroke_signs_are_an_emergency(engine: TriageEngine) -> None:
    text = "il a eu un malaise tout à l'heure, il avait la bouche de travers, ça vient de passer"
    assert engine.assess(text).level == "emergency"


def test_history_then_now_is_an_emergency(engine: TriageEngine) -> None:
    text = "il a fait un AVC il y a deux ans et là il a de nouveau le bras qui lâche"
    assert engine.assess(text).level == "emergency"


@pytest.mark.parametrize(
    ("text", "subject", "child"),
    [
        ("mon mari a de la fièvre", "mari", False),
        ("ma fille de deux mois a de la fièvre", "fille", True),
        ("my son has a rash", "son", True),
        ("ma mère de 85 ans est tombée", "mere", False),
        ("j'ai mal au dos", "self", False),
    ],
)
def test_third_party_subject(engine: TriageEngine, text: str, subject: str, child: bool) -> None:
    findings = engine.assess(text).findings
    assert (findings["subject"], findings["child"]) == (subject, child)


# --- context rules ------------------------------------------------------------------------------------------


def test_infant_under_three_months_with_fever_is_an_emergency(engine: TriageEngine) -> None:
    decision = engine.assess("mon bébé de six semaines a trente-huit deux")
    assert decision.level == "emergency"
    assert decision.rule_ids[0] == "infant_fever"


def test_older_baby_with_fever_is_urgent_and_child_with_low_fever_routine(engine: TriageEngine) -> None:
    assert engine.assess("mon fils de quatre mois a 38 5").level == "urgent"
    assert engine.assess("mon fils de 5 ans a 38,2 mais il joue et il mange").level == "routine"


def test_pregnancy_with_bleeding_is_an_emergency(engine: TriageEngine) -> None:
    assert engine.assess("je suis enceinte de cinq mois et je saigne").level == "emergency"
    assert engine.assess("je suis enceinte et je voudrais une prise de sang").level == "routine"


def test_travel_to_malaria_area_with_fever_is_urgent(engine: TriageEngine) -> None:
    decision = engine.assess("je rentre du Mali et j'ai de la fièvre")
    assert decision.level == "urgent"
    assert "travel_fever" in decision.rule_ids


def test_context_carries_across_turns(engine: TriageEngine) -> None:
    first = engine.assess("c'est pour ma fille, elle a deux mois")
    assert first.level == "routine"
    assert first.context.age_months == 2.0
    second = engine.assess("elle a 38 2 depuis ce matin", context=first.context)
    assert second.level == "emergency"
    assert "infant_fever" in second.rule_ids


def test_context_given_by_caller_code(engine: TriageEngine) -> None:
    decision = engine.assess("je saigne un peu", context=CallContext(pregnant=True))
    assert decision.level == "emergency"


def test_head_injury_on_anticoagulants(engine: TriageEngine) -> None:
    assert engine.assess("mon père est sous préviscan il s'est cogné la tête").level == "emergency"
    assert engine.assess("il s'est cogné la tête, il prend pas d'anticoagulant").level == "urgent"


# --- decisions, actions, thresholds --------------------------------------------------------------------------


def test_actions_by_level(engine: TriageEngine) -> None:
    assert engine.assess("il ne respire plus").action == "advise_15"
    assert engine.assess("j'ai de la fièvre depuis cinq jours").action == "handoff"
    assert engine.assess("je voudrais un rendez-vous demain").action == "self_service"


def test_urgent_action_threshold(engine: TriageEngine) -> None:
    callback = engine.with_thresholds(Thresholds(urgent_action="callback"))
    assert callback.assess("j'ai de la fièvre depuis cinq jours").action == "callback"


def test_high_fever_threshold(engine: TriageEngine) -> None:
    text = "j'ai 38,6 de fièvre depuis ce matin"
    assert engine.assess(text).level == "routine"
    assert engine.with_thresholds(Thresholds(high_fever_celsius=38.5)).assess(text).level == "urgent"


def test_lasting_fever_threshold(engine: TriageEngine) -> None:
    text = "j'ai de la fièvre depuis deux jours"
    assert engine.assess(text).level == "routine"
    assert engine.with_thresholds(Thresholds(lasting_fever_days=2)).assess(text).level == "urgent"


def test_clinical_question_action_threshold(engine: TriageEngine) -> None:
    decision = engine.assess("est-ce que je peux prendre du doliprane avec mon traitement ?")
    assert decision.clinical_question
    assert (decision.level, decision.action) == ("routine", "callback")
    handoff = engine.with_thresholds(Thresholds(clinical_question_action="handoff"))
    assert handoff.assess("mes résultats sont bons ?").action == "handoff"


def test_clinical_question_with_a_red_flag_keeps_the_red_flag(engine: TriageEngine) -> None:
    decision = engine.assess("est-ce grave ? j'ai mal à la poitrine et je transpire")
    assert decision.clinical_question
    assert decision.level == "emergency"


def test_suicidal_ideation_is_always_a_human_and_mentions_3114(engine: TriageEngine) -> None:
    callback = engine.with_thresholds(Thresholds(urgent_action="callback"))
    decision = callback.assess("j'ai des idées noires, je pense à mourir")
    assert (decision.level, decision.action) == ("urgent", "handoff")
    assert "3114" in decision.rules[0].label


def test_imminent_suicide_is_an_emergency(engine: TriageEngine) -> None:
    decision = engine.assess("je veux en finir ce soir, j'ai préparé les médicaments")
    assert (decision.level, decision.action) == ("emergency", "advise_15")


def test_max_level() -> None:
    assert max_level("routine", "urgent") == "urgent"
    assert max_level("emergency", "urgent") == "emergency"
    assert max_level("routine", "routine") == "routine"


# --- evidence and output -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Euh, mon MARI a très mal à la Poitrine et il transpire",
        "ma fille de deux mois a 38,5",
        "my dad's face has dropped on one side",
        "Il a fait une crise d'épilepsie, ça dure depuis dix minutes !",
    ],
)
def test_evidence_is_the_callers_own_words(engine: TriageEngine, text: str) -> None:
    decision = engine.assess(text)
    assert decision.rules
    for hit in decision.rules:
        assert hit.evidence and hit.evidence in text


def test_decision_is_json_serialisable(engine: TriageEngine) -> None:
    data = json.loads(json.dumps(engine.assess("ma fille de deux mois a 38,5").to_dict()))
    assert data["level"] == "emergency"
    assert data["rules"][0]["id"] == "infant_fever"
    assert data["context"]["age_months"] == 2.0


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("je voudrais prendre rendez-vous avec le docteur Martin", "book"),
        ("je voudrais annuler mon rendez-vous de jeudi", "cancel"),
        ("est-ce qu'on peut déplacer mon rendez-vous à vendredi", "reschedule"),
        ("je confirme mon rendez-vous de demain", "confirm"),
        ("quels sont vos horaires le samedi", "info"),
        ("il me faudrait une ordonnance pour mon traitement", "prescription"),
        ("pouvez-vous laisser un message au docteur", "message"),
        ("je veux parler à une vraie personne", "human"),
        ("j'ai mal à la gorge depuis hier", "symptom"),
        ("allô ?", "other"),
        ("I'd like to cancel my appointment", "cancel"),
    ],
)
def test_intents(engine: TriageEngine, text: str, intent: str) -> None:
    assert engine.assess(text).intent == intent


# --- robustness ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\x00\x01\x02\xff", "é" * 100_000, "🙂" * 5000, "38 " * 20_000, "pas " * 10_000],
)
def test_never_raises_on_garbage(engine: TriageEngine, text: str) -> None:
    decision = engine.assess(text)
    assert decision.level in ("routine", "urgent", "emergency")


def test_binary_and_non_text_input_is_safe(engine: TriageEngine) -> None:
    assert engine.assess(b"\x89PNG\r\n\x1a\n\x00\x00".decode("latin-1")).level == "routine"
    assert engine.assess(b"il ne respire plus".decode()).level == "emergency"
    assert engine.assess(None).level == "routine"  # type: ignore[arg-type]


def test_long_input_keeps_the_red_flag_at_its_start(engine: TriageEngine) -> None:
    decision = engine.assess("mon père ne respire plus. " + "blabla " * 20_000)
    assert decision.level == "emergency"
    assert decision.findings["truncated"]


# --- protocol validation ---------------------------------------------------------------------------------------


def _broken(tmp_path: Path, body: str) -> list[Path]:
    broken = tmp_path / "zz_broken.yaml"
    broken.write_text(body, encoding="utf-8")
    return [*triage_files(), broken]


def test_packaged_protocol_loads() -> None:
    protocol = load_protocol()
    assert len(protocol.rules) > 40
    assert {c.spec.intent for c in protocol.intents} >= {"book", "cancel", "human"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("theme: x\nrules:\n  - {id: bad_level, level: deadly, action: advise_15, label: Test, phrases: [a]}\n",
         "rule 'bad_level'"),
        ("theme: x\nrules:\n  - {id: no_pattern, level: urgent, action: handoff, label: Test}\n",
         "rule 'no_pattern'"),
        ("theme: x\nrules:\n  - {id: chest_pain, level: urgent, action: handoff, label: Test, phrases: [a]}\n",
         "rule 'chest_pain': duplicate id"),
        ("theme: x\nrules:\n  - {id: bad_ref, level: urgent, action: handoff, label: Test, phrases: ['@nope']}\n",
         "rule 'bad_ref': unknown vocab"),
        ("theme: x\nrules:\n  - {id: e_action, level: emergency, action: callback, label: Test, phrases: [a]}\n",
         "rule 'e_action'"),
        ("theme: x\nrules: [\n", "cannot read"),
        ("theme: x\nunknown_key: 1\n", "unknown_key"),
    ],
)
def test_broken_protocol_names_file_and_rule(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ProtocolError) as excinfo:
        load_protocol(_broken(tmp_path, body))
    assert "zz_broken.yaml" in str(excinfo.value)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("il a déjà fait deux convulsions aujourd'hui", "emergency"),
        ("ma fille a 3 jours de fièvre à 38, elle va bien", "routine"),
        ("i've been sitting all day and my back is sore", "routine"),
        ("c'est une question sur une facture", "routine"),
        ("j'ai des vertiges quand je me lève depuis des années", "routine"),
        ("he isn't responding", "emergency"),
    ],
)
def test_guards_against_known_false_matches(engine: TriageEngine, text: str, level: str) -> None:
    assert engine.assess(text).level == level


def test_a_protocol_word_does_not_fuzzy_match_another() -> None:
    matcher = TermMatcher([Term("fracture"), Term("facture"), Term("fitting")], 84)
    assert matcher.keys_for("facture") == frozenset({"facture"})
    assert matcher.keys_for("sitting") == frozenset()


# Phrasings written for these tests (not taken from the evaluation set), one per red flag or trap.
OWN_PHRASINGS = [
    ("emergency", "il s'est écroulé dans la cuisine et il bouge plus"),
    ("emergency", "ça m'oppresse au niveau du coeur et j'ai des sueurs"),
    ("emergency", "my husband is clutching his chest"),
    ("emergency", "elle parle bizarre et sa bouche tombe"),
    ("emergency", "il traîne la jambe depuis ce matin"),
    ("emergency", "j'ai perdu la vue d'un oeil d'un coup"),
    ("emergency", "elle a fait une crise et s'est mordu la langue"),
    ("emergency", "un mal de tête comme jamais, d'un coup"),
    ("emergency", "il a bu de la soude"),
    ("emergency", "mon fils a pris les médicaments de son père"),
    ("emergency", "il s'est brûlé gravement avec de l'eau bouillante sur tout le bras"),
    ("emergency", "she fell down the stairs and isn't moving"),
    ("emergency", "my son is having trouble breathing and his ribs are sucking in"),
    ("emergency", "ma fille a la fièvre et des taches rouges qui ne partent pas quand j'appuie"),
    ("emergency", "elle est enceinte de 3 mois et elle a très mal au ventre"),
    ("emergency", "j'ai mal au dos et je ne sens plus les fesses et je perds mes urines"),
    ("emergency", "je ne veux plus vivre, j'ai pris tous mes médicaments"),
    ("emergency", "mon bébé a 10 jours et il a 38,2"),
    ("urgent", "la fièvre ne baisse pas malgré le doliprane"),
    ("urgent", "j'ai mal aux reins et 39 de fièvre"),
    ("urgent", "ma mère de 82 ans est tombée ce matin, elle a mal au poignet"),
    ("urgent", "mon fils a une toux aboyante cette nuit"),
    ("urgent", "j'ai comme un voile devant l'oeil depuis ce matin"),
    ("urgent", "i got back from nigeria last week and i have a fever"),
    ("routine", "je voudrais un rendez-vous pour faire mes vaccins avant de partir au Sénégal"),
    ("routine", "j'ai les pieds gonflés le soir quand il fait chaud"),
    ("routine", "mon mari prend du xarelto, il faut renouveler l'ordonnance"),
    ("routine", "je suis enceinte de trois mois, je voudrais un rendez-vous de suivi"),
    ("routine", "mon père a été opéré du coeur il y a 5 ans, il a besoin d'un suivi"),
    ("routine", "j'ai un point de côté quand je cours"),
    ("routine", "je ne vois plus mon ordonnance"),
    ("routine", "mon coeur bat vite quand je fais du sport, je voudrais un bilan"),
]


@pytest.mark.parametrize(("level", "text"), OWN_PHRASINGS)
def test_own_phrasings(engine: TriageEngine, level: str, text: str) -> None:
    assert engine.assess(text).level == level


# --- safety net: a complaint the protocol does not recognise goes to a person ---------------------------------


def _without_safety_net() -> TriageEngine:
    return TriageEngine(load_protocol([f for f in triage_files() if f.name != "safety_net.yaml"]))


@pytest.mark.parametrize(
    "text",
    [
        "ma mère a une grosseur sous l'aisselle qui lui fait mal",
        "my husband's got a strange pain in his side since this morning",
        "j'ai une douleur dans le bas du dos côté droit qui me lance",
        "j'ai très mal au genou depuis ce matin",
    ],
)
def test_unrecognised_complaint_goes_to_a_person(engine: TriageEngine, text: str) -> None:
    decision = engine.assess(text)
    assert (decision.level, decision.action) == ("urgent", "handoff")
    assert decision.rules[0].id == "unrecognised_symptom"
    assert decision.rules[0].evidence and decision.rules[0].evidence in text
    assert decision.intent == "symptom"
    assert _without_safety_net().assess(text).level == "routine"  # only the safety net caught it


@pytest.mark.parametrize(
    "text",
    [
        "je voudrais un rendez-vous pour un petit rhume",
        "c'est pour le renouvellement de mon traitement",
        "je voudrais un certificat pour le sport",
        "j'ai mal au dos depuis une semaine, rien d'autre",
        "j'ai un peu mal au genou quand je cours",
        "je n'ai pas de douleur, c'est pour un certificat",
        "mon fils a des verrues sur les mains",
        "i've had a runny nose and a sore throat for two days",
        "my daughter's teething and a bit grumpy",
        "j'ai un bouton de fièvre sur la lèvre",
    ],
)
def test_recognised_benign_complaints_stay_routine(engine: TriageEngine, text: str) -> None:
    decision = engine.assess(text)
    assert decision.level == "routine", decision.to_dict()
    assert "unrecognised_symptom" not in decision.rule_ids


def test_intensity_cancels_mildness(engine: TriageEngine) -> None:
    assert engine.assess("j'ai un peu mal au genou").level == "routine"
    assert engine.assess("j'ai un peu mal au genou et d'un coup il a gonflé").level == "urgent"
    assert engine.assess("j'ai très mal au genou").level == "urgent"


def test_safety_net_never_lowers_a_level(engine: TriageEngine) -> None:
    decision = engine.assess("il a mal à la poitrine et il transpire, un peu comme d'habitude")
    assert decision.level == "emergency"
    assert "unrecognised_symptom" not in decision.rule_ids


def test_safety_net_keeps_its_handoff_under_a_callback_threshold(engine: TriageEngine) -> None:
    callback = engine.with_thresholds(Thresholds(urgent_action="callback"))
    decision = callback.assess("ma mère a une grosseur sous l'aisselle qui lui fait mal")
    assert (decision.level, decision.action) == ("urgent", "handoff")


def test_safety_net_is_protocol_data() -> None:
    protocol = load_protocol()
    assert protocol.safety_net is not None
    assert protocol.safety_net.spec.id == "unrecognised_symptom"
    assert protocol.safety_net.spec.level == "urgent"
    assert any(path.endswith("safety_net.yaml") for path in protocol.files)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("theme: x\nsafety_net: {id: net, level: routine, action: self_service, label: Test, complaint: [mal]}\n",
         "safety net must raise the level"),
        ("theme: x\nsafety_net: {id: net, level: urgent, action: handoff, label: Test, complaint: ['@nope']}\n",
         "unknown vocab"),
        ("theme: x\nsafety_net: {id: net, level: urgent, action: handoff, label: Test, complaint: [mal]}\n",
         "safety_net already defined"),
    ],
)
def test_broken_safety_net_names_the_file(tmp_path: Path, body: str, message: str) -> None:
    files = _broken(tmp_path, body)
    if "already defined" not in message:  # alone: the packaged safety net would be reported as a duplicate
        files = [f for f in files if f.name != "safety_net.yaml"]
    with pytest.raises(ProtocolError) as excinfo:
        load_protocol(files)
    assert "zz_broken.yaml" in str(excinfo.value)
    assert message in str(excinfo.value)


# --- generalisation guards: scope, dates and false friends ----------------------------------------------------


def test_a_year_dates_only_the_words_near_it(engine: TriageEngine) -> None:
    text = "mon grand-père dit n'importe quoi depuis ce matin il croit qu'on est en 1970"
    assert engine.assess(text).level == "emergency"
    assert engine.assess("il a eu un infarctus en 2015, je voudrais un rendez-vous").level == "routine"


def test_a_past_event_named_after_apres_son_is_history(engine: TriageEngine) -> None:
    assert engine.assess("dites au docteur que mon père va bien après son infarctus").level == "routine"
    assert engine.assess("j'ai mal au dos et je perds mes urines depuis ma sciatique").level == "emergency"
    assert engine.assess("depuis mon opération j'ai le mollet gonflé et douloureux").level == "urgent"


def test_travel_and_anticoagulants_are_not_dated_away(engine: TriageEngine) -> None:
    assert engine.assess("je suis allé au Mali le mois dernier et depuis hier j'ai de la fièvre").level == "urgent"
    text = "mon père est sous préviscan depuis des années, il s'est cogné la tête"
    assert engine.assess(text).level == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "sorry wrong number",
        "i cut my finger slightly while cooking it's fine",
        "my son is a bit tired today",
        "c'est pour le rappel du vaccin contre le tétanos",
        "j'ai eu un petit vertige en me levant trop vite, plus rien depuis",
    ],
)
def test_false_friends_stay_routine(engine: TriageEngine, text: str) -> None:
    assert engine.assess(text).level == "routine", engine.assess(text).to_dict()


# Structural rules: one phrasing per family, written for these tests (not from either evaluation set).
GENERALISATION = [
    ("emergency", "la moitié de son visage s'est affaissée d'un coup"),
    ("emergency", "il mélange les mots et on le comprend plus"),
    ("emergency", "my dad's arm has gone limp and he can't lift it"),
    ("emergency", "elle est par terre dans le salon et elle bouge pas"),
    ("emergency", "il a les yeux qui partent en haut et il tremble de partout"),
    ("emergency", "elle a craché beaucoup de sang ce matin"),
    ("emergency", "mon fils a avalé une poignée de comprimés de sa mère"),
    ("emergency", "une voiture a renversé mon fils devant l'école"),
    ("emergency", "enceinte de huit mois, le bébé bouge plus depuis ce matin"),
    ("emergency", "il a le ventre dur comme du bois et il vomit"),
    ("urgent", "le chien du voisin a mordu mon fils au mollet"),
    ("urgent", "mon fils boite depuis sa chute au parc hier"),
    ("urgent", "ma fille a avalé une bille mais elle respire bien"),
]


@pytest.mark.parametrize(("level", "text"), GENERALISATION)
def test_structural_rules_generalise(engine: TriageEngine, level: str, text: str) -> None:
    assert engine.assess(text).level == level, engine.assess(text).to_dict()


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("je ne saigne pas, c'est juste pour un contrôle de grossesse", "routine"),
        ("no chest pain or shortness of breath, I just need my inhaler renewed", "routine"),
        ("il n'arrête pas de saigner du nez sous préviscan", "emergency"),
        ("il a pas arrêté de vomir du sang", "emergency"),
        ("je n'ai jamais eu aussi mal à la tête, c'est venu d'un coup", "emergency"),
        ("he's not well, his chest hurts and he's sweating", "emergency"),
        ("elle ne sent plus sa jambe gauche", "emergency"),
        ("my baby's not breathing properly her lips are going blue", "emergency"),
    ],
)
def test_negation_reach(engine: TriageEngine, text: str, level: str) -> None:
    assert engine.assess(text).level == level, engine.assess(text).to_dict()
