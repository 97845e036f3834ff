"""`permanence serve|demo`: the server process's composition root (settings, clients, app, uvicorn)."""

from __future__ import annotations

import logging
from datetime import datetime

import uvicorn
from redis import Redis
from sqlalchemy.engine import Engine

from console.app import create_app
from practice.db import make_engine, migrate
from practice.demo import DEMO_PASSWORD, seed_demo
from practice.settings import Settings

log = logging.getLogger("permanence.serve")


def run_server(*, host: str | None, port: int | None, seed_demo: bool) -> None:
    """Migrate the database, seed the demo practice if asked, and serve until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    overrides: dict[str, object] = {"demo_mode": settings.demo_mode or seed_demo}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = settings.model_copy(update=overrides)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    if seed_demo:
        _seed(engine, settings)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app = create_app(settings=settings, engine=engine, redis=redis)
    _banner(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


def _seed(engine: Engine, settings: Settings) -> None:
    summary = seed_demo(engine, today=datetime.now(settings.tz).date())
    print(
        f"Cabinet de démonstration prêt : {summary.practitioners} praticiens, "
        f"{summary.appointments_created} rendez-vous ajoutés. Comptes : {', '.join(summary.usernames)} "
        f"(mot de passe « {DEMO_PASSWORD} »).",
        flush=True,
    )


def _banner(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}"
    print(f"Permanence écoute sur {url}  (API : {url}/docs)", flush=True)
