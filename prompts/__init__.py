"""Authored language and the triage protocol as data, with a tiny loader."""

from __future__ import annotations

from pathlib import Path

PROMPTS_DIR = Path(__file__).parent
TRIAGE_DIR = PROMPTS_DIR / "triage"
TRIAGE_EVAL_SET = TRIAGE_DIR / "eval" / "triage_eval.jsonl"  # labelled caller utterances (dev + holdout)


class PromptNotFound(LookupError):
    """No authored text of that name exists in that language."""


def text(name: str, lang: str = "fr") -> str:
    """The authored Markdown text `name` in `lang` (falls back to French), stripped."""
    for candidate in (PROMPTS_DIR / lang / f"{name}.md", PROMPTS_DIR / "fr" / f"{name}.md"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8").strip()
    raise PromptNotFound(f"no prompt named {name!r} for language {lang!r} in {PROMPTS_DIR}")


def triage_files() -> list[Path]:
    """The protocol files of the triage engine, in a stable order."""
    return sorted(TRIAGE_DIR.glob("*.yaml"))
