"""The queue's domain errors → HTTP answers in one place: a stable code, and a message in the person's language."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from console.i18n import N_, language_of, tr
from escalation.queue import AlreadyClaimed, InvalidTransition, QueueUnavailable, TicketNotFound

UNAVAILABLE = N_("La file d'attente est momentanément injoignable ; réessayez dans un instant.")
ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    TicketNotFound: (404, "ticket_not_found", N_("Ticket introuvable : il n'est plus dans la file.")),
    AlreadyClaimed: (409, "already_claimed", N_("Trop tard : ce ticket vient d'être pris par quelqu'un d'autre.")),
    InvalidTransition: (409, "invalid_transition", N_(
        "Ce ticket ne peut pas changer d'état ainsi (il n'est plus à vous, ou il est déjà clos).")),
    QueueUnavailable: (503, "queue_unavailable", UNAVAILABLE),
    RedisError: (503, "queue_unavailable", UNAVAILABLE),
}


def install_error_handlers(app: FastAPI) -> None:
    """Answer the queue's domain errors with their code and a message in the caller's language."""
    for kind in ERRORS:
        app.add_exception_handler(kind, _error_answer)


async def _error_answer(request: Request, exc: Exception) -> JSONResponse:
    status, code, message = next(v for k, v in ERRORS.items() if isinstance(exc, k))
    return JSONResponse({"detail": tr(language_of(request), message), "code": code}, status_code=status)
