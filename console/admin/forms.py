"""Shared plumbing of the administration pages: access gate, rendering, form parsing, French error messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from console.admin.errors import AdminError
from console.auth import CSRF_FIELD, ConsoleUser, optional_user, read_session
from console.pages import WEEKDAYS_FR, templates
from practice.models import Role

MANAGE_ROLES = (Role.manager, Role.admin)
SPAN = re.compile(r"^\s*(\d{1,2})[:hH](\d{2})\s*[-–à]\s*(\d{1,2})[:hH](\d{2})\s*$")
ERROR_FR = {
    "missing": "obligatoire",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
    "string_pattern_mismatch": "format invalide",
    "greater_than_equal": "trop petit",
    "less_than_equal": "trop grand",
    "int_parsing": "nombre entier attendu",
    "date_from_datetime_parsing": "date invalide (AAAA-MM-JJ)",
    "date_parsing": "date invalide (AAAA-MM-JJ)",
    "datetime_from_date_parsing": "date et heure invalides",
    "datetime_parsing": "date et heure invalides",
    "time_parsing": "heure invalide (HH:MM)",
    "literal_error": "valeur non permise",
    "too_long": "trop d'éléments",
    "extra_forbidden": "champ inconnu",
}


def page_gate(*roles: str) -> Any:
    """Pages: anonymous users are sent to the login page, other roles get 403."""
    allowed = frozenset(roles)

    def check(request: Request, user: Annotated[ConsoleUser | None, Depends(optional_user)]) -> ConsoleUser:
        if user is None:
            target = quote(request.url.path, safe="/")
            raise HTTPException(status_code=303, detail="Connexion requise.",
                                headers={"Location": f"/login?next={target}"})
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail="Votre rôle ne permet pas d'accéder à l'administration.")
        return user

    return Depends(check)


PageManager = Annotated[ConsoleUser, page_gate(*MANAGE_ROLES)]
PageAdmin = Annotated[ConsoleUser, page_gate(Role.admin)]


def render(request: Request, user: ConsoleUser, template: str, context: dict[str, Any], *,
           status: int = 200) -> HTMLResponse:
    data = read_session(request)
    base = {"user": user, "csrf": data.csrf if data else "", "csrf_field": CSRF_FIELD, "weekdays": WEEKDAYS_FR,
            "notice": request.query_params.get("ok", ""), "is_admin": user.role == Role.admin}
    return templates.TemplateResponse(request, f"admin/{template}", {**base, **context}, status_code=status)


def french_errors(exc: ValidationError) -> str:
    """One line per problem: the field and what is wrong, in French."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error.get("loc", ()) if not isinstance(p, int)) or "formulaire"
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if error.get("type") != "value_error":
            message = ERROR_FR.get(str(error.get("type")), message)
        lines.append(f"{field} : {message}")
    return " ; ".join(lines)


def attempt(action: Callable[[], Any], done: str, on_error: Callable[[str, int], Response]) -> Response:
    """Run a form's action; on success go to `done` (303), else re-render the page with the message."""
    try:
        action()
    except ValidationError as exc:
        return on_error(french_errors(exc), 422)
    except AdminError as exc:
        return on_error(exc.message, exc.status)
    except ValueError as exc:
        return on_error(str(exc), 422)
    return RedirectResponse(done, status_code=303)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def parse_spans(line: str, label: str) -> list[tuple[time, time]]:
    """'08:00-12:00, 14h00-19h00' → two (start, end) pairs; empty → none (closed)."""
    spans = []
    for part in filter(None, (p.strip() for p in line.split(","))):
        match = SPAN.match(part)
        if not match:
            raise ValueError(f"{label} : « {part} » n'est pas une plage comme 08:00-12:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if max(h1, h2) > 23 or max(m1, m2) > 59:
            raise ValueError(f"{label} : heure impossible dans « {part} »")
        spans.append((time(h1, m1), time(h2, m2)))
    return spans


def format_spans(rows: list[tuple[int, time, time]]) -> dict[int, str]:
    """Weekday → '08:00-12:00, 14:00-19:00' for the forms."""
    lines: dict[int, list[str]] = {}
    for day, start, end in rows:
        lines.setdefault(day, []).append(f"{start:%H:%M}-{end:%H:%M}")
    return {day: ", ".join(spans) for day, spans in lines.items()}


def lines_list(value: str) -> list[str]:
    """'fr, en' → ['fr', 'en']."""
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
