"""`permanence triage`: JSON lines in and out, bad lines reported, drafts compared with the defaults."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from console.triage_command import run_triage

pytestmark = pytest.mark.unit

runner = CliRunner()


def _run(*, text: str | None = None, jsonl: str | None = None, thresholds: Path | None = None):
    out, err = io.StringIO(), io.StringIO()
    code = run_triage(text=text, jsonl=jsonl, thresholds_path=thresholds, out=out, err=err)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, lines, err.getvalue()


def test_one_text_gives_one_json_line_with_the_public_keys():
    code, lines, _ = _run(text="ma femme ne respire plus, elle est toute bleue")
    assert code == 0
    (line,) = lines
    assert {"id", "level", "action", "intent", "rules"} <= set(line)
    assert line["level"] == "emergency" and line["action"] == "advise_15"
    assert all(rule["evidence"] for rule in line["rules"])


def test_jsonl_keeps_ids_and_order_and_reports_bad_lines(tmp_path: Path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "x1", "text": "je voudrais annuler mon rendez-vous"}\n'
                    "{not json\n"
                    '{"id": "x2"}\n'
                    '{"id": "x3", "text": "je veux parler à une secrétaire"}\n', encoding="utf-8")
    code, lines, err = _run(jsonl=str(path))
    assert code == 1
    assert [line["id"] for line in lines] == ["x1", "x3"]
    assert lines[0]["intent"] == "cancel"
    assert "line 2" in err and "line 3" in err


def test_text_and_jsonl_together_are_refused():
    code, lines, err = _run(text="x", jsonl="-")
    assert code == 2 and lines == [] and "either TEXT or --jsonl" in err


def test_draft_thresholds_change_decisions_and_the_comparison_says_so(tmp_path: Path):
    draft = tmp_path / "draft.yaml"
    draft.write_text("urgent_action: callback\n", encoding="utf-8")
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "fever", "text": "mon fils de 4 ans a 40 de fièvre depuis ce matin", "level": "urgent"}\n',
                    encoding="utf-8")
    code, lines, err = _run(jsonl=str(path), thresholds=draft)
    assert code == 0
    assert lines[0]["level"] == "urgent" and lines[0]["action"] == "callback"
    report = json.loads(err.splitlines()[-1])["replay"]
    assert report["active"]["actions"] == {"handoff": 1}
    assert report["draft"]["actions"] == {"callback": 1}
    assert report["changed"] == 1 and report["changed_ids"] == ["fever"]


def test_invalid_draft_is_refused_with_the_field_named(tmp_path: Path):
    draft = tmp_path / "draft.yaml"
    draft.write_text("max_silences: 99\n", encoding="utf-8")
    result = runner.invoke(app, ["triage", "bonjour", "--thresholds", str(draft)])
    assert result.exit_code == 2
    assert "max_silences" in result.output


def test_stdin_is_read_with_dash():
    result = runner.invoke(app, ["triage", "--jsonl", "-"], input='{"id": 7, "text": "quels sont vos horaires ?"}\n')
    assert result.exit_code == 0
    assert json.loads(result.output)["id"] == "7"
