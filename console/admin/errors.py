"""Errors of the administration services, mapped to HTTP in one place (French messages)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class AdminError(Exception):
    """A refused administration request: HTTP status and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(what: str) -> AdminError:
    return AdminError(404, f"{what} introuvable.")


def install_admin_errors(app: FastAPI) -> None:
    app.add_exception_handler(AdminError, _handler)


async def _handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AdminError)
    return JSONResponse({"detail": exc.message}, status_code=exc.status)
