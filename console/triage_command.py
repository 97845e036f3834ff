"""`permanence triage`: triage and intent of caller utterances as JSON lines, and what-if replay of a draft."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from escalation.replay import Utterance, replay
from escalation.thresholds import Thresholds
from escalation.thresholds_io import load_thresholds_file
from escalation.triage import TriageEngine

MAX_LINE_CHARS = 100_000


class TriageInputError(ValueError):
    """A line of the input could not be used (its line number is in the message)."""


def run_triage(*, text: str | None, jsonl: str | None, thresholds_path: Path | None,
               out: IO[str], err: IO[str]) -> int:
    """Print one decision per utterance; with a draft, also print the comparison with the defaults."""
    if (text is None) == (jsonl is None):
        err.write("permanence triage: give either TEXT or --jsonl PATH|- (not both, not neither)\n")
        return 2
    draft_thresholds = load_thresholds_file(thresholds_path) if thresholds_path else None
    active = TriageEngine.default()
    engine = active.with_thresholds(draft_thresholds) if draft_thresholds else active
    utterances, bad_lines = _utterances(text, jsonl, err)
    for utterance in utterances:
        out.write(json.dumps(_line(utterance, engine), ensure_ascii=False) + "\n")
    if draft_thresholds is not None:
        _write_comparison(utterances, active, engine, draft_thresholds, err)
    return 1 if bad_lines else 0


def _line(utterance: Utterance, engine: TriageEngine) -> dict[str, Any]:
    decision = engine.assess(utterance.text)
    return {
        "id": utterance.id,
        "level": decision.level,
        "action": decision.action,
        "intent": decision.intent,
        "rules": [{"id": hit.id, "level": hit.level, "evidence": hit.evidence} for hit in decision.rules],
        "clinical_question": decision.clinical_question,
    }


def _utterances(text: str | None, jsonl: str | None, err: IO[str]) -> tuple[list[Utterance], int]:
    if text is not None:
        return [Utterance(id="1", text=text)], 0
    assert jsonl is not None
    utterances: list[Utterance] = []
    bad = 0
    for number, raw in _lines(jsonl):
        try:
            utterances.append(_parse(number, raw))
        except TriageInputError as exc:
            bad += 1
            err.write(f"permanence triage: {exc}\n")
    return utterances, bad


def _lines(jsonl: str) -> Iterator[tuple[int, str]]:
    if jsonl == "-":
        stream: IO[str] = sys.stdin
        yield from ((n, line) for n, line in enumerate(stream, 1) if line.strip())
        return
    path = Path(jsonl)
    if not path.is_file():
        raise SystemExit(f"permanence triage: no such file: {path}")
    with path.open(encoding="utf-8", errors="replace") as handle:
        yield from ((n, line) for n, line in enumerate(handle, 1) if line.strip())


def _parse(number: int, raw: str) -> Utterance:
    if len(raw) > MAX_LINE_CHARS:
        raise TriageInputError(f"line {number}: longer than {MAX_LINE_CHARS} characters, skipped")
    try:
        row = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TriageInputError(f"line {number}: not JSON ({exc.msg})") from exc
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise TriageInputError(f'line {number}: expected an object with a "text" string')
    label = row.get("level") if row.get("level") in ("emergency", "urgent", "routine") else None
    return Utterance(id=str(row.get("id", number)), text=row["text"], level=label)


def _write_comparison(utterances: list[Utterance], active: TriageEngine, draft: TriageEngine,
                      thresholds: Thresholds, err: IO[str]) -> None:
    report = replay(utterances, active=active, draft=draft)
    summary = {"replay": {"active": report.active.to_dict(), "draft": report.draft.to_dict(),
                          "changed": len(report.changed),
                          "changed_ids": [c.id for c in report.changed][:50]}}
    err.write(json.dumps(summary, ensure_ascii=False) + "\n")
