"""Errors of the administration services, mapped to HTTP in one place (French messages, translated when shown)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import FastAPI, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from console.i18n import N_, SOURCE_LANGUAGE, LazyText, language_of, tr

PathId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Identifiant (entier positif)")]
ADMIN_API = "/api/admin"
VALUE_ERROR_PREFIX = "Value error, "


class Refusal(ValueError):
    """A value refused with a marked French message (a lazy text), translated where it is shown."""

    __slots__ = ("text",)  # not in __dict__: the API's error JSON stays as it was

    def __init__(self, template: str, /, **params: Any) -> None:
        self.text = LazyText(template, **params)
        super().__init__(str(self.text))

    def translated(self, language: str) -> str:
        return self.text.translated(language)


class AdminError(Exception):
    """A refused administration request: HTTP status and a message for the user (French; `translated()`)."""

    def __init__(self, status: int, template: str, /, **params: Any) -> None:
        self.status = status
        self.text = LazyText(template, **params)
        self.message = str(self.text)
        super().__init__(self.message)

    @classmethod
    def refused(cls, status: int, refusal: Refusal) -> AdminError:
        """A refused value as a refused request, its message kept for translation."""
        return cls(status, refusal.text.template, **refusal.text.params)

    def translated(self, language: str) -> str:
        return self.text.translated(language)


def not_found(what: str) -> AdminError:
    """`what`: a marked French noun ("Cabinet")."""
    return AdminError(404, N_("{what} introuvable."), what=LazyText(what))


def message_in(language: str, exc: Exception) -> str:
    """An error's message for a person reading `language`."""
    if isinstance(exc, AdminError | Refusal):
        return exc.translated(language)
    return tr(language, str(exc))


def install_admin_errors(app: FastAPI) -> None:
    app.add_exception_handler(AdminError, _handler)
    # a value the database cannot store (an id beyond INTEGER, a malformed number) is the client's error, not a 500
    app.add_exception_handler(OverflowError, _bad_value)
    app.add_exception_handler(sa.exc.DataError, _bad_value)
    app.add_exception_handler(RequestValidationError, _invalid_request)


async def _bad_value(request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": tr(language_of(request), "Valeur hors limites pour la base de données.")},
                        status_code=422)


async def _handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AdminError)
    return JSONResponse({"detail": exc.translated(language_of(request))}, status_code=exc.status)


def _translated_error(language: str, error: dict[str, Any]) -> dict[str, Any]:
    cause = (error.get("ctx") or {}).get("error")
    if error.get("type") != "value_error" or not isinstance(cause, Exception):
        return error
    return {**error, "msg": VALUE_ERROR_PREFIX + message_in(language, cause)}


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 answer; on the administration API, the messages written in French are translated."""
    assert isinstance(exc, RequestValidationError)
    language = language_of(request)
    if language == SOURCE_LANGUAGE or not request.url.path.startswith(ADMIN_API):
        return await request_validation_exception_handler(request, exc)
    errors = [_translated_error(language, dict(e)) for e in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
