"""Domain errors of the queue → HTTP answers, in one place (French messages for the console)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from escalation.queue import AlreadyClaimed, InvalidTransition, QueueUnavailable, TicketNotFound

UNAVAILABLE = "La file d'attente est momentanément injoignable ; réessayez dans un instant."
ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    TicketNotFound: (404, "ticket_not_found", "Ticket introuvable : il n'est plus dans la file."),
    AlreadyClaimed: (409, "already_claimed", "Trop tard : ce ticket vient d'être pris par quelqu'un d'autre."),
    InvalidTransition: (409, "invalid_transition",
                        "Ce ticket ne peut pas changer d'état ainsi (il n'est plus à vous, ou il est déjà clos)."),
    QueueUnavailable: (503, "queue_unavailable", UNAVAILABLE),
    RedisError: (503, "queue_unavailable", UNAVAILABLE),
}


def install_error_handlers(app: FastAPI) -> None:
    for kind in ERRORS:
        app.add_exception_handler(kind, _handler)


async def _handler(_request: Request, exc: Exception) -> JSONResponse:
    status, code, message = next(v for k, v in ERRORS.items() if isinstance(exc, k))
    return JSONResponse({"detail": message, "code": code}, status_code=status)
