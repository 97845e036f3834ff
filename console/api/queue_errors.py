"""The queue's error answers in the person's language: `console.api.errors` keeps the codes and French texts."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from console.api.errors import ERRORS
from console.i18n import N_, language_of, tr

# The French texts of console.api.errors, marked here for the secretaries' catalogue (a test keeps them in step).
ERROR_TEXTS = (
    N_("Ticket introuvable : il n'est plus dans la file."),
    N_("Trop tard : ce ticket vient d'être pris par quelqu'un d'autre."),
    N_("Ce ticket ne peut pas changer d'état ainsi (il n'est plus à vous, ou il est déjà clos)."),
    N_("La file d'attente est momentanément injoignable ; réessayez dans un instant."),
)


def install_translated_error_handlers(app: FastAPI) -> None:
    """Answer the queue's domain errors with their code and a message in the caller's language."""
    for kind in ERRORS:
        app.add_exception_handler(kind, _translated_error)


async def _translated_error(request: Request, exc: Exception) -> JSONResponse:
    status, code, message = next(v for k, v in ERRORS.items() if isinstance(exc, k))
    return JSONResponse({"detail": tr(language_of(request), message), "code": code}, status_code=status)
