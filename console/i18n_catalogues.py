"""Keep the translation catalogues in step with the French source: `python -m console.i18n_catalogues check|update`.

`update` adds every new French text (with its source lines) to the language's .po files, for a translator to
fill, and drops texts the code no longer has; `check` lists what is untranslated, stale or inconsistent.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

from console.i18n import JS_DOMAIN, LANGUAGES, LOCALES_DIR, SOURCE_LANGUAGE

ROOT = Path(__file__).resolve().parent.parent
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
PYTHON_KEYWORDS: dict[str, Any] = {"tr": (2,), "N_": None}
TEMPLATE_KEYWORDS: dict[str, Any] = {"_": None}
SCRIPT_KEYWORDS: dict[str, Any] = {"t": None}


@dataclass(frozen=True)
class Source:
    """Where French texts are marked, how to read them, and which catalogue (file stem) receives them."""

    pattern: str
    method: str | Callable[..., Any]
    keywords: dict[str, Any]


SOURCES: tuple[Source, ...] = (
    Source("console/**/*.py", "python", PYTHON_KEYWORDS),
    Source("escalation/thresholds.py", "python", PYTHON_KEYWORDS),
    Source("escalation/threshold_store.py", "python", PYTHON_KEYWORDS),
    Source("practice/retention.py", "python", PYTHON_KEYWORDS),
    Source("console/templates/**/*.html", babel_extract, TEMPLATE_KEYWORDS),
    Source("console/static/**/*.js", "javascript", SCRIPT_KEYWORDS),
)
_AREAS = (("review", "review"), ("manager", "manager"), ("escalation/", "manager"), ("admin", "admin"),
          ("retention", "admin"), ("queue", "secretary"), ("softphone", "secretary"), ("secretary", "secretary"),
          ("handoff", "secretary"))


def catalogue_for(path: str) -> str:
    """The catalogue (file stem) a source file's texts go to: manager, admin, secretary or messages for the
    server; js-manager, js-secretary, js-messages... for the browser scripts."""
    area = next((stem for marker, stem in _AREAS if marker in path), "messages")
    return f"{JS_DOMAIN}-{area}" if path.endswith(".js") else area


def _source_files() -> Iterable[tuple[str, Source]]:
    for source in SOURCES:
        for file in sorted(ROOT.glob(source.pattern)):
            relative = file.relative_to(ROOT).as_posix()
            if "/vendor/" not in relative and file.is_file():
                yield relative, source


def extract_messages() -> dict[str, dict[str, list[tuple[str, int]]]]:
    """Every marked French text, by catalogue stem, with the places it appears."""
    found: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for relative, source in _source_files():
        for lineno, message, _comments, _context in extract_from_file(source.method, str(ROOT / relative),
                                                                       keywords=source.keywords):
            text = message if isinstance(message, str) else next((m for m in message if m), None)
            if text:
                found.setdefault(catalogue_for(relative), {}).setdefault(text, []).append((relative, lineno))
    return found


def _po_path(language: str, stem: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{stem}.po"


def _read(path: Path, language: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, project="Permanence", domain=path.stem)
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=path.stem)


def update(language: str, only: set[str] | None = None) -> list[str]:
    """Bring one language's catalogues (or only those named) in step with the sources; a line per change."""
    changes: list[str] = []
    for stem, texts in sorted(extract_messages().items()):
        if only and stem not in only:
            continue
        path = _po_path(language, stem)
        old = _read(path, language)
        new = Catalog(locale=language, project="Permanence", domain=stem, creation_date=old.creation_date,
                      revision_date=old.revision_date, fuzzy=False, copyright_holder="the Permanence authors",
                      msgid_bugs_address="", last_translator="the Permanence authors",
                      language_team=f"{LANGUAGES[language]} ({language})")
        for text, places in texts.items():
            previous = old.get(text)
            new.add(text, previous.string if previous else "", locations=places,
                    flags=previous.flags if previous else ())
            if previous is None:
                changes.append(f"{path.name}: new text {text!r}")
        changes += [f"{path.name}: dropped {m.id!r}" for m in old if m.id and m.id not in texts]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, new, width=120, sort_output=False, include_previous=False, include_lineno=False)
    return changes


def check(language: str) -> list[str]:
    """What is wrong with one language's catalogues: untranslated, stale or inconsistent texts."""
    problems: list[str] = []
    extracted = extract_messages()
    for stem, texts in sorted(extracted.items()):
        path = _po_path(language, stem)
        catalog = _read(path, language)
        for text, places in texts.items():
            entry = catalog.get(text)
            where = f"{places[0][0]}:{places[0][1]}"
            if entry is None or not entry.string:
                problems.append(f"{path.name}: untranslated {text!r} ({where})")
            elif entry.fuzzy:
                problems.append(f"{path.name}: fuzzy {text!r} ({where})")
            elif set(_PLACEHOLDER.findall(text)) != set(_PLACEHOLDER.findall(str(entry.string))):
                problems.append(f"{path.name}: placeholders differ in {text!r} → {entry.string!r}")
        problems += [f"{path.name}: stale {m.id!r}" for m in catalog if m.id and m.id not in texts]
    for path in sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")):
        if path.stem not in extracted:
            problems.append(f"{path.name}: no source marks texts for this catalogue")
    return problems + _disagreements(language)


def _disagreements(language: str) -> list[str]:
    """The same French text translated differently in two catalogues (one term, one translation)."""
    seen: dict[str, tuple[str, str]] = {}
    problems = []
    for path in sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")):
        for message in _read(path, language):
            if not message.id or not message.string or not isinstance(message.id, str):
                continue
            first = seen.setdefault(message.id, (path.name, str(message.string)))
            if first[1] != message.string:
                problems.append(f"{path.name}: {message.id!r} → {message.string!r}, but {first[0]} says {first[1]!r}")
    return problems


def main(argv: list[str]) -> int:
    """`check` (exit 1 on a problem) or `update [STEM ...]`, for every language but French."""
    if not argv or argv[0] not in {"check", "update"} or (argv[0] == "check" and len(argv) > 1):
        print("usage: python -m console.i18n_catalogues check | update [messages|manager|admin|secretary|js-... ...]",
              file=sys.stderr)
        return 2
    languages = [code for code in LANGUAGES if code != SOURCE_LANGUAGE]
    if argv[0] == "update":
        for language in languages:
            for line in update(language, set(argv[1:]) or None):
                print(f"{language}: {line}")
        return 0
    problems = [f"{language}: {p}" for language in languages for p in check(language)]
    print("\n".join(problems) if problems else "catalogues complete")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
