"""The console's FastAPI application factory (the web app for secretaries and managers)."""

from __future__ import annotations

from fastapi import FastAPI
from redis import Redis
from sqlalchemy.engine import Engine

from console.admin.install import install_admin
from console.api import health, practices
from console.docs import mount_offline_docs
from console.gateway import CallHandler
from console.gateway import router as gateway_router
from console.handoff import LiveCalls
from console.handoff import router as handoff_router
from console.i18n import install_translated_http_errors
from console.manager import router as manager_router
from console.media_admission import MediaStreamAdmission
from console.pages import router as pages_router
from console.secretary import install_secretary_console
from console.softphone import router as softphone_router
from practice.settings import Settings


def create_app(
    *, settings: Settings, engine: Engine, redis: Redis, call_handler: CallHandler | None = None,
    live_calls: LiveCalls | None = None, media_admission: MediaStreamAdmission | None = None,
) -> FastAPI:
    """Build the app around the clients the composition root created (no call handler: calls get 1013)."""
    app = FastAPI(
        title="Permanence",
        summary="Accueil téléphonique hybride IA + humain pour cabinets médicaux",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
    )
    mount_offline_docs(app)
    install_translated_http_errors(app)
    app.state.settings = settings
    app.state.engine = engine
    app.state.redis = redis
    app.state.call_handler = call_handler
    app.state.live_calls = live_calls  # calls a secretary can be bridged into (embedded mode)
    app.state.live_rooms = None  # LiveKit mode: a RoomDirectory naming each call's room
    # signs the softphone's token; the composition root gives the one its call runner checks with
    app.state.media_admission = media_admission or MediaStreamAdmission.from_settings(settings)
    app.include_router(health.router)
    app.include_router(practices.router)
    app.include_router(pages_router)
    app.include_router(softphone_router)
    install_secretary_console(app)
    install_admin(app)
    app.include_router(manager_router)
    app.include_router(gateway_router)
    app.include_router(handoff_router)
    return app
