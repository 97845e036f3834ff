"""Wires the administration into the app: JSON API, pages, error mapping, and the hourly retention purge."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from console.admin import api, gdpr_api, pages, pages_people
from console.admin.errors import install_admin_errors
from practice.retention import RetentionScheduler


def recordings_dir(app: FastAPI) -> Path:
    """Where call recordings are kept (files named after their call id), purged with the audio retention."""
    return Path(app.state.settings.data_dir) / "recordings"


def install_admin(app: FastAPI) -> None:
    install_admin_errors(app)
    app.include_router(api.router)
    app.include_router(gdpr_api.router)
    app.include_router(pages.router)
    app.include_router(pages_people.router)
    scheduler = RetentionScheduler(app.state.engine, recordings_dir=recordings_dir(app))
    app.router.on_startup.append(scheduler.start)
    app.router.on_shutdown.append(scheduler.stop)
