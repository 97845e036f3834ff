"""Shared plumbing of the administration pages: access gate, rendering, form parsing, error messages (FR/EN)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Annotated, Any
from urllib.parse import quote, quote_plus

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from console.admin.errors import AdminError, Refusal, message_in
from console.auth import CSRF_FIELD, ConsoleUser, optional_user, read_session
from console.i18n import N_, SOURCE_LANGUAGE, LazyText, language_of, tr
from console.pages import WEEKDAYS_FR, templates
from practice.models import Role

MANAGE_ROLES = (Role.manager, Role.admin)
SPAN = re.compile(r"^\s*(\d{1,2})[:hH](\d{2})\s*[-–à]\s*(\d{1,2})[:hH](\d{2})\s*$")
ERROR_FR = {
    "missing": N_("obligatoire"),
    "string_too_short": N_("trop court"),
    "string_too_long": N_("trop long"),
    "string_pattern_mismatch": N_("format invalide"),
    "greater_than_equal": N_("trop petit"),
    "less_than_equal": N_("trop grand"),
    "int_parsing": N_("nombre entier attendu"),
    "date_from_datetime_parsing": N_("date invalide (AAAA-MM-JJ)"),
    "date_parsing": N_("date invalide (AAAA-MM-JJ)"),
    "datetime_from_date_parsing": N_("date et heure invalides"),
    "datetime_parsing": N_("date et heure invalides"),
    "time_parsing": N_("heure invalide (HH:MM)"),
    "literal_error": N_("valeur non permise"),
    "too_long": N_("trop d'éléments"),
    "extra_forbidden": N_("champ inconnu"),
}
WHOLE_FORM = N_("formulaire")


def page_gate(*roles: str) -> Any:
    """Pages: anonymous users are sent to the login page, other roles get 403."""
    allowed = frozenset(roles)

    def check(request: Request, user: Annotated[ConsoleUser | None, Depends(optional_user)]) -> ConsoleUser:
        if user is None:
            target = quote(request.url.path, safe="/")
            raise HTTPException(status_code=303, detail=tr(language_of(request), "Connexion requise."),
                                headers={"Location": f"/login?next={target}"})
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail=tr(language_of(request),
                                                           "Votre rôle ne permet pas d'accéder à l'administration."))
        return user

    return Depends(check)


PageManager = Annotated[ConsoleUser, page_gate(*MANAGE_ROLES)]
PageAdmin = Annotated[ConsoleUser, page_gate(Role.admin)]


def render(request: Request, user: ConsoleUser, template: str, context: dict[str, Any], *,
           status: int = 200) -> HTMLResponse:
    data = read_session(request)
    language = language_of(request)
    base = {"user": user, "csrf": data.csrf if data else "", "csrf_field": CSRF_FIELD,
            "weekdays": [tr(language, day) for day in WEEKDAYS_FR],
            "notice": notice_text(request.query_params.get("ok", ""), language), "is_admin": user.role == Role.admin}
    return templates.TemplateResponse(request, f"admin/{template}", {**base, **context}, status_code=status)


def form_errors(exc: ValidationError, language: str) -> str:
    """One line per problem: the field and what is wrong, in `language`."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error.get("loc", ()) if not isinstance(p, int)) or tr(language, WHOLE_FORM)
        lines.append(tr(language, "{field} : {message}", field=field, message=_error_message(error, language)))
    return (" ; " if language == SOURCE_LANGUAGE else "; ").join(lines)


def _error_message(error: Any, language: str) -> str:
    cause = (error.get("ctx") or {}).get("error")
    if error.get("type") == "value_error" and isinstance(cause, Exception):
        return message_in(language, cause)
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    known = ERROR_FR.get(str(error.get("type")))
    return tr(language, known) if known else message


def french_errors(exc: ValidationError) -> str:
    """One line per problem: the field and what is wrong, in French."""
    return form_errors(exc, SOURCE_LANGUAGE)


# What a page says once a form is done, by key (the address carries the key, never a text a link could forge).
NOTICES: dict[str, str] = {
    "practice_added": N_("Cabinet ajouté"),
    "settings_saved": N_("Réglages enregistrés"),
    "hours_saved": N_("Horaires enregistrés"),
    "closure_added": N_("Fermeture ajoutée"),
    "closure_deleted": N_("Fermeture supprimée"),
    "practitioner_added": N_("Praticien ajouté"),
    "retention_saved": N_("Durées de conservation enregistrées"),
    "practitioner_saved": N_("Praticien enregistré"),
    "type_added": N_("Type de consultation ajouté"),
    "type_deleted": N_("Type supprimé"),
    "availability_saved": N_("Disponibilités enregistrées"),
    "absence_added": N_("Absence ajoutée"),
    "absence_deleted": N_("Absence supprimée"),
    "user_created": N_("Utilisateur créé"),
    "user_saved": N_("Utilisateur enregistré"),
    "password_changed": N_("Mot de passe changé"),
    "patient_erased": N_("Données du patient effacées"),
}


def notice_url(path: str, notice: str, anchor: str = "") -> str:
    """Where a form goes once done: `path` showing the notice of key `notice`, then `anchor` (#section)."""
    if notice not in NOTICES:
        raise KeyError(f"unknown notice {notice!r}")
    return f"{path}?ok={quote_plus(notice)}{anchor}"


def notice_text(key: str, language: str) -> str:
    """The notice of this key in the language; nothing for an unknown key."""
    text = NOTICES.get(key)
    return tr(language, text) if text else ""


def attempt(request: Request, action: Callable[[], Any], done: str,
            on_error: Callable[[str, int], Response]) -> Response:
    """Run a form's action; on success go to `done` (303), else re-render the page with the message."""
    language = language_of(request)
    try:
        action()
    except ValidationError as exc:
        return on_error(form_errors(exc, language), 422)
    except AdminError as exc:
        return on_error(exc.translated(language), exc.status)
    except ValueError as exc:
        return on_error(message_in(language, exc), 422)
    return RedirectResponse(done, status_code=303)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def parse_spans(line: str, weekday: int) -> list[tuple[time, time]]:
    """'08:00-12:00, 14h00-19h00' → two (start, end) pairs; empty → none (closed)."""
    spans = []
    day = LazyText(WEEKDAYS_FR[weekday], capitalised=True)
    for part in filter(None, (p.strip() for p in line.split(","))):
        match = SPAN.match(part)
        if not match:
            raise Refusal(N_("{day} : « {part} » n'est pas une plage comme 08:00-12:00"), day=day, part=part)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if max(h1, h2) > 23 or max(m1, m2) > 59:
            raise Refusal(N_("{day} : heure impossible dans « {part} »"), day=day, part=part)
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
