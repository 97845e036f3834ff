"""Log a Starlette TestClient into the console (the shared `login` helper is typed for httpx clients)."""

from __future__ import annotations

from typing import cast

import httpx
from fastapi.testclient import TestClient

from tests.console_fixtures import PASSWORD, login


def login_client(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; the CSRF token is set on the client's headers and returned."""
    return login(cast(httpx.Client, client), username, password)
