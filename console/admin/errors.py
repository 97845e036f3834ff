"""Errors of the administration services, mapped to HTTP in one place (French messages)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import FastAPI, Path, Request
from fastapi.responses import JSONResponse

PathId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Identifiant (entier positif)")]


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
    # a value the database cannot store (an id beyond INTEGER, a malformed number) is the client's error, not a 500
    app.add_exception_handler(OverflowError, _bad_value)
    app.add_exception_handler(sa.exc.DataError, _bad_value)


async def _bad_value(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "Valeur hors limites pour la base de données."}, status_code=422)


async def _handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AdminError)
    return JSONResponse({"detail": exc.message}, status_code=exc.status)
