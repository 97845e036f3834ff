"""Unit tests of the thresholds model's validation messages and of thresholds files (YAML / JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from escalation.thresholds import DEFAULT_THRESHOLDS, InvalidThresholds, Thresholds, parse_thresholds
from escalation.thresholds_io import ThresholdsFileError, dump_thresholds, load_thresholds_file

pytestmark = pytest.mark.unit


def refusal(values: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidThresholds) as caught:
        parse_thresholds(values)
    return caught.value.errors


# --- the model -----------------------------------------------------------------------------------------


def test_empty_configuration_is_the_defaults() -> None:
    assert parse_thresholds({}) == DEFAULT_THRESHOLDS == Thresholds()


def test_partial_configuration_keeps_other_defaults() -> None:
    t = parse_thresholds({"max_silences": 4, "sla_seconds": {"urgent": 90}})
    assert t.max_silences == 4 and t.sla_seconds.urgent == 90
    assert t.sla_seconds.emergency == DEFAULT_THRESHOLDS.sla_seconds.emergency
    assert t.max_call_seconds == DEFAULT_THRESHOLDS.max_call_seconds


def test_every_field_explains_itself_in_french() -> None:
    for name, info in Thresholds.model_fields.items():
        if name != "sla_seconds":
            assert info.description and len(info.description) > 20, name


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"max_misunderstandings": 0}, "max_misunderstandings", "doit être supérieur ou égal à 1"),
        ({"max_misunderstandings": 6}, "max_misunderstandings", "doit être inférieur ou égal à 5"),
        ({"fuzzy_match_min_score": 50}, "fuzzy_match_min_score", "supérieur ou égal à 70"),
        ({"low_confidence_score": 1.5}, "low_confidence_score", "inférieur ou égal à 1"),
        ({"high_fever_celsius": 37.0}, "high_fever_celsius", "supérieur ou égal à 38"),
        ({"max_call_seconds": 30}, "max_call_seconds", "supérieur ou égal à 60"),
        ({"max_silences": "beaucoup"}, "max_silences", "doit être un nombre entier"),
        ({"max_call_seconds": 90.5}, "max_call_seconds", "nombre entier (sans décimales)"),
        ({"low_confidence_score": "haute"}, "low_confidence_score", "doit être un nombre"),
        ({"human_request_immediate": "peut-être"}, "human_request_immediate", "oui ou non"),
        ({"distress_sensitivity": "extreme"}, "distress_sensitivity", "'low', 'medium', 'high'"),
        ({"urgent_action": "advise_15"}, "urgent_action", "'handoff', 'callback'"),
        ({"clinical_question_action": "answer"}, "clinical_question_action", "valeurs possibles"),
        ({"sla_seconds": 30}, "sla_seconds", "groupe de réglages"),
        ({"sla_seconds": {"emergency": 1}}, "sla_seconds.emergency", "supérieur ou égal à 5"),
    ],
)
def test_refusals_name_the_field_with_a_french_message(values: dict[str, Any], field: str, message: str) -> None:
    errors = refusal(values)
    assert [e["field"] for e in errors] == [field]
    assert message in errors[0]["message"]


def test_extra_field_refused() -> None:
    errors = refusal({"max_silense": 3})
    assert errors == [{"field": "max_silense", "message": "réglage inconnu (vérifiez l'orthographe du nom)"}]
    assert refusal({"sla_seconds": {"critical": 10}})[0]["field"] == "sla_seconds.critical"


def test_sla_must_be_ordered() -> None:
    for sla in ({"emergency": 200, "urgent": 100}, {"urgent": 700, "routine": 600}):
        errors = refusal({"sla_seconds": sla})
        assert errors == [
            {"field": "sla_seconds", "message": "les délais doivent croître : urgence vitale ≤ urgent ≤ courant"}
        ]
    assert parse_thresholds({"sla_seconds": {"emergency": 60, "urgent": 60, "routine": 60}})


def test_all_errors_are_reported_at_once() -> None:
    errors = refusal({"max_silences": 0, "max_call_seconds": 10, "oops": 1})
    assert {e["field"] for e in errors} == {"max_silences", "max_call_seconds", "oops"}


def test_not_a_mapping_is_refused_at_the_root() -> None:
    assert refusal([1, 2])[0]["field"] == "(racine)"


def test_exception_message_lists_fields() -> None:
    with pytest.raises(InvalidThresholds, match=r"max_silences: doit être supérieur ou égal à 1"):
        parse_thresholds({"max_silences": 0})


# --- files ---------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_partial_yaml_file_fills_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "brouillon.yaml", "# plus patient\nmax_misunderstandings: 3\nsla_seconds:\n  urgent: 90\n")
    t = load_thresholds_file(path)
    assert t.max_misunderstandings == 3 and t.sla_seconds.urgent == 90
    assert t.max_silences == DEFAULT_THRESHOLDS.max_silences


def test_json_file(tmp_path: Path) -> None:
    path = write(tmp_path, "seuils.json", json.dumps({"distress_sensitivity": "high"}))
    assert load_thresholds_file(str(path)).distress_sensitivity == "high"


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert load_thresholds_file(write(tmp_path, "vide.yml", "")) == DEFAULT_THRESHOLDS


def test_dumped_file_loads_back(tmp_path: Path) -> None:
    t = parse_thresholds({"max_call_seconds": 900, "urgent_action": "callback"})
    assert load_thresholds_file(write(tmp_path, "export.yaml", dump_thresholds(t))) == t


def test_bad_fields_in_file_name_the_file_and_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "mauvais.yaml", "max_silences: 0\nmax_silense: 3\n")
    with pytest.raises(ThresholdsFileError) as caught:
        load_thresholds_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert "max_silences: doit être supérieur ou égal à 1" in message
    assert "max_silense: réglage inconnu" in message
    assert caught.value.path == path
    assert {e["field"] for e in caught.value.errors} == {"max_silences", "max_silense"}
    assert isinstance(caught.value, InvalidThresholds)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cassé.yaml", "max_silences: [3\n", "YAML invalide ligne"),
        ("cassé.json", '{"max_silences": 3,}', "JSON invalide ligne 1"),
        ("liste.yaml", "- max_silences\n- 3\n", "pas une liste"),
        ("texte.yaml", "bonjour", "pas une liste ni un texte"),
    ],
)
def test_syntax_and_shape_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ThresholdsFileError, match=message) as caught:
        load_thresholds_file(path)
    assert str(path) in str(caught.value)
    assert caught.value.errors[0]["field"] == "(fichier)"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ThresholdsFileError, match="fichier introuvable"):
        load_thresholds_file(tmp_path / "absent.yaml")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ThresholdsFileError, match="dossier"):
        load_thresholds_file(tmp_path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("note: réglé\n".encode("latin-1"))
    with pytest.raises(ThresholdsFileError, match="UTF-8"):
        load_thresholds_file(path)
