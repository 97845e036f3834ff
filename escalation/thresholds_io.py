"""Threshold configuration files (YAML or JSON) for the command line: load, validate, explain errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from escalation.thresholds import InvalidThresholds, Thresholds, parse_thresholds

_FILE_FIELD = "(fichier)"


class ThresholdsFileError(InvalidThresholds):
    """A thresholds file could not be read or was refused; the message names the file and each bad field."""

    def __init__(self, path: Path, errors: list[dict[str, str]]) -> None:
        self.path = path
        super().__init__(errors)
        self.args = (f"{path}: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors),)


def _fail(path: Path, message: str) -> ThresholdsFileError:
    return ThresholdsFileError(path, [{"field": _FILE_FIELD, "message": message}])


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise _fail(path, "fichier introuvable") from exc
    except IsADirectoryError as exc:
        raise _fail(path, "c'est un dossier, pas un fichier") from exc
    except UnicodeDecodeError as exc:
        raise _fail(path, "le fichier n'est pas du texte UTF-8") from exc
    except OSError as exc:
        raise _fail(path, f"lecture impossible ({exc.strerror})") from exc


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"JSON invalide ligne {exc.lineno}, colonne {exc.colno} : {exc.msg}") from exc


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" ligne {mark.line + 1}, colonne {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntaxe incorrecte"
        raise _fail(path, f"YAML invalide{where} : {problem}") from exc


def read_thresholds_values(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a thresholds file (`.json` as JSON, anything else as YAML); empty → {}."""
    path = Path(path)
    text = _read_text(path)
    data = _parse_json(path, text) if path.suffix.lower() == ".json" else _parse_yaml(path, text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(path, "le fichier doit contenir des réglages « nom: valeur », pas une liste ni un texte")
    return data


def load_thresholds_file(path: str | Path) -> Thresholds:
    """Validated thresholds from a YAML or JSON file; missing settings take their default values."""
    values = read_thresholds_values(path)
    try:
        return parse_thresholds(values)
    except InvalidThresholds as exc:
        raise ThresholdsFileError(Path(path), exc.errors) from exc


def dump_thresholds(thresholds: Thresholds) -> str:
    """A complete YAML thresholds file, ready to be edited and loaded back."""
    return yaml.safe_dump(thresholds.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
