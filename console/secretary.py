"""Wires the secretary console into the app: session keys, queue, live events, security, routes, assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from console import secretary_pages
from console.api import queue as queue_api
from console.api.queue_errors import install_error_handlers
from console.auth import LoginLimiter, SessionCodec, resolve_secret_key
from console.events import EventBroadcaster
from console.headers import SecurityHeaders
from escalation.queue import HumanQueue
from escalation.queue_keys import QueueKeys
from escalation.ticket_store import TicketStore

STATIC = Path(__file__).parent / "static"


def install_secretary_console(app: FastAPI) -> None:
    """Add login, the queue API and pages, security headers and error mapping (app.state is set)."""
    app.state.session_codec = SessionCodec(resolve_secret_key(app.state.settings))
    app.state.summary_polisher = None  # an LLM polisher (escalation.summary.SummaryPolisher) may be set here
    attach_queue(app, QueueKeys())
    app.add_middleware(SecurityHeaders, livekit_url=app.state.settings.livekit_url)
    install_error_handlers(app)
    app.mount("/static/console", StaticFiles(directory=str(STATIC)), name="console-static")
    app.include_router(secretary_pages.api_router)
    app.include_router(queue_api.router)
    app.include_router(secretary_pages.router)


def attach_queue(app: FastAPI, keys: QueueKeys) -> None:
    """The queue, its event fan-out and the login limiter under one Redis key prefix (tests use their own)."""
    redis = app.state.redis
    app.state.ticket_store = TicketStore(app.state.engine)
    app.state.queue = HumanQueue(redis, app.state.ticket_store, keys=keys)
    app.state.queue_events = EventBroadcaster(redis, keys)
    app.state.login_limiter = LoginLimiter(redis, prefix=keys.prefix)
