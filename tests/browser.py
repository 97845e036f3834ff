"""Headless Debian Chromium for the page tests: one launch recipe, and a page that records what went wrong."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("PERMANENCE_ARTIFACTS", "artifacts")) / "screenshots"


@contextmanager
def chromium_page(*, locale: str = "fr-FR", size: tuple[int, int] = (1366, 900), errors: list[str] | None = None,
                  expected: Sequence[str] = (), failed_requests: bool = True, extra_args: Sequence[str] = ()
                  ) -> Iterator[Any]:
    """A page of a fresh headless Chromium; script errors (and failed requests) go to `errors` unless they
    contain one of the `expected` texts (a refusal the test provokes, say)."""
    playwright = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).exists(), "install Debian chromium (scripts/setup.sh does)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        page = browser.new_page(viewport={"width": size[0], "height": size[1]}, locale=locale)
        if errors is not None:
            _record_errors(page, errors, expected, failed_requests)
        try:
            yield page
        finally:
            browser.close()


def _record_errors(page: Any, errors: list[str], expected: Sequence[str], failed_requests: bool) -> None:
    def keep(text: str) -> None:
        if not any(e in text for e in expected):
            errors.append(text)

    page.on("console", lambda m: keep(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: keep(str(e)))
    if failed_requests:
        page.on("response", lambda r: keep(f"{r.status} {r.url}") if r.status >= 400 else None)
