"""The console's languages: French (the source text) and English, read from gettext .po catalogues.

French is written in the code and templates; each other language has `.po` files under
`console/locales/<lang>/LC_MESSAGES/`, one per area of the console (`js-<area>.po` for the browser scripts).
A message may hold `{name}` placeholders: `tr(lang, "{n} appel(s)", n=3)`. A text formatted before it
reached the console (a validation error, say) is still translated when an entry with placeholders matches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from practice.i18n_marks import N_

__all__ = ["N_", "LazyText", "catalogue", "in_language", "install_template_functions", "language_of", "tr"]

LOCALES_DIR: Final = Path(__file__).parent / "locales"
SOURCE_LANGUAGE: Final = "fr"
LANGUAGES: Final = {"fr": "Français", "en": "English"}
LANGUAGE_COOKIE: Final = "permanence_lang"
JS_DOMAIN: Final = "js"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
MIN_PATTERN_LETTERS: Final = 8


@dataclass(frozen=True)
class Catalogue:
    """One language's translations: exact texts, and the patterns of those with placeholders."""

    exact: dict[str, str]
    patterns: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def translate(self, text: str) -> str:
        """The translation of `text`, or `text` itself when the catalogue does not know it."""
        found = self.exact.get(text)
        if found is not None:
            return found
        for pattern, translation in self.patterns:
            match = pattern.fullmatch(text)
            if match:
                return _format(translation, match.groupdict())
        return text


def _pattern(msgid: str) -> re.Pattern[str] | None:
    """A regular expression matching `msgid` with its placeholders filled in (None: no placeholder, or too
    little fixed text to recognise the message safely, like "{day} : {spans}")."""
    if not _PLACEHOLDER.search(msgid) or len(re.findall(r"\w", _PLACEHOLDER.sub("", msgid))) < MIN_PATTERN_LETTERS:
        return None
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(msgid):
        parts += [re.escape(msgid[last:match.start()]), f"(?P<{match.group(1)}>.+?)"]
        last = match.end()
    parts.append(re.escape(msgid[last:]))
    try:
        return re.compile("".join(parts), re.DOTALL)
    except re.error:  # the same placeholder twice: exact lookups only
        return None


def read_catalogue_files(paths: list[Path]) -> dict[str, str]:
    """Every translated, non-fuzzy entry of these .po files (a later file wins on a repeated text)."""
    entries: dict[str, str] = {}
    for path in paths:
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if message.id and isinstance(message.id, str) and isinstance(message.string, str) \
                    and message.string and not message.fuzzy:
                entries[message.id] = message.string
    return entries


def _domain_files(language: str, domain: str | None) -> list[Path]:
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    files = sorted(folder.glob("*.po")) if folder.is_dir() else []
    if domain is None:
        return [p for p in files if not p.stem.startswith(JS_DOMAIN)]
    return [p for p in files if p.stem.startswith(domain)]


@lru_cache(maxsize=8)
def catalogue(language: str, domain: str | None = None) -> Catalogue:
    """The server's (domain None) or the browser scripts' (domain "js": every js-*.po) catalogue of a language."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return Catalogue(exact={})
    exact = read_catalogue_files(_domain_files(language, domain))
    patterns = [(p, text) for msgid, text in exact.items() if (p := _pattern(msgid)) is not None]
    patterns.sort(key=lambda item: -len(item[0].pattern))  # the most specific pattern first
    return Catalogue(exact=exact, patterns=patterns)


def _format(text: str, params: dict[str, Any]) -> str:
    if not params:
        return text
    return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), text)


def tr(language: str, text: str, **params: Any) -> str:
    """`text` (French) in `language`, with its `{name}` placeholders filled from `params`."""
    return _format(catalogue(language).translate(text), params)


class LazyText(str):
    """A marked French text shown later in the reader's language: the string is its French rendering, `params`
    fill its placeholders (lazy texts among them are translated too); `capitalised` for a word opening a line."""

    template: str
    params: dict[str, Any]
    capitalised: bool

    def __new__(cls, template: str, /, *, capitalised: bool = False, **params: Any) -> LazyText:
        text = super().__new__(cls, _render(SOURCE_LANGUAGE, template, params, capitalised))
        text.template, text.params, text.capitalised = template, params, capitalised
        return text

    def translated(self, language: str) -> str:
        """The text in `language`."""
        return _render(language, self.template, self.params, self.capitalised)


def in_language(value: Any, language: str) -> Any:
    """A lazy text in `language`; any other value as it is."""
    return value.translated(language) if isinstance(value, LazyText) else value


def _render(language: str, template: str, params: dict[str, Any], capitalised: bool) -> str:
    text = tr(language, template, **{k: in_language(v, language) for k, v in params.items()})
    return text[:1].upper() + text[1:] if capitalised else text


def normalise_language(value: str | None) -> str:
    """A supported language code from a cookie or a form value (French for anything else)."""
    code = (value or "").strip().lower()[:2]
    return code if code in LANGUAGES else SOURCE_LANGUAGE


def language_of(connection: HTTPConnection) -> str:
    """The language the person on this request chose (the cookie), French by default."""
    return normalise_language(connection.cookies.get(LANGUAGE_COOKIE))


def safe_next(target: str | None) -> str:
    """A local path to go back to after switching language (never another site)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def format_decimal(language: str, value: float, digits: int = 1) -> str:
    """A decimal number as the language writes it (French: a comma)."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "fr" else text


def format_percent(language: str, ratio: float | None, digits: int = 1) -> str:
    """A ratio (0–1) as a percentage ("12,5 %" in French, "12.5%" in English); a dash when unknown."""
    if ratio is None:
        return "—"
    number = format_decimal(language, ratio * 100, digits)
    return f"{number} %" if language == "fr" else f"{number}%"


def _context_language(context: Context) -> str:
    request = context.get("request")
    return language_of(request) if isinstance(request, HTTPConnection) else SOURCE_LANGUAGE


@pass_context
def _template_gettext(context: Context, text: str, **params: Any) -> str:
    return tr(_context_language(context), text, **params)


@pass_context
def _template_language(context: Context) -> str:
    return _context_language(context)


@pass_context
def _template_decimal(context: Context, value: float | None, digits: int = 1) -> str:
    return "—" if value is None else format_decimal(_context_language(context), value, digits)


@pass_context
def _template_percent(context: Context, ratio: float | None, digits: int = 1) -> str:
    return format_percent(_context_language(context), ratio, digits)


@pass_context
def _template_js_catalogue(context: Context) -> dict[str, str]:
    return catalogue(_context_language(context), JS_DOMAIN).exact


def install_template_functions(environment: Any) -> None:
    """Give the console's templates `_()`, `current_language()`, `js_catalogue()` and number filters."""
    environment.globals.update(
        _=_template_gettext, current_language=_template_language, js_catalogue=_template_js_catalogue,
        languages=LANGUAGES,
    )
    environment.filters.update(decimal=_template_decimal, percent=_template_percent)


def translated_detail(detail: Any, language: str) -> Any:
    """An error's detail for a person: a French message (or `{"message", "errors"}`) in their language."""
    if isinstance(detail, str):
        return tr(language, detail)
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        errors = [{**e, "message": tr(language, e["message"])} if isinstance(e.get("message"), str) else e
                  for e in detail.get("errors", [])]
        return {**detail, "message": tr(language, detail["message"]), **({"errors": errors} if errors else {})}
    return detail


def install_translated_http_errors(app: FastAPI) -> None:
    """Every route's refusals (HTTPException details written in French) reach the person in their language."""
    app.add_exception_handler(HTTPException, _translated_http_error)


async def _translated_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    language = language_of(request)
    if language != SOURCE_LANGUAGE:
        exc = HTTPException(exc.status_code, translated_detail(exc.detail, language), exc.headers)
    return await http_exception_handler(request, exc)
