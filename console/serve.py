"""`permanence serve|demo`: the server process's composition root (settings, clients, app, uvicorn)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import uvicorn
from redis import Redis
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from agent.call_runner import VoiceStack
    from agent.live_calls import LiveCallRegistry

from console.app import create_app
from console.auth import MissingSecretKey, resolve_secret_key
from console.gateway import CallHandler
from console.handoff import LiveCalls
from console.maintenance import QueueMaintenance
from console.media_admission import MediaStreamAdmission
from escalation.live_rooms import RedisRoomDirectory
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
    settings = _with_secret_key(settings)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    if seed_demo:
        _seed(engine, settings)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    admission = MediaStreamAdmission.from_settings(settings)
    handler, live_calls = _call_handler(settings, engine, redis, admission)
    app = create_app(settings=settings, engine=engine, redis=redis, call_handler=handler, live_calls=live_calls,
                     media_admission=admission)
    app.state.live_rooms = RedisRoomDirectory(redis)  # LiveKit mode: rooms published by the worker
    maintenance = QueueMaintenance(app.state.queue, redis, engine)
    maintenance.start()
    _banner(settings)
    try:
        # open event streams never end by themselves: give them a few seconds at shutdown, then stop
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=3)
    finally:
        maintenance.stop()


def _with_secret_key(settings: Settings) -> Settings:
    """Refuse to start without PERMANENCE_SECRET_KEY outside demo mode; demo mode gets a random key."""
    try:
        return settings.model_copy(update={"secret_key": resolve_secret_key(settings)})
    except MissingSecretKey as exc:
        print(f"Erreur : {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def _seed(engine: Engine, settings: Settings) -> None:
    summary = seed_demo(engine, today=datetime.now(settings.tz).date(), history=True)
    print(
        f"Cabinet de démonstration prêt : {summary.practitioners} praticiens, "
        f"{summary.appointments_created} rendez-vous ajoutés, {summary.calls_created} appels d'historique ajoutés "
        f"(rapports et simulation des seuils). Comptes : {', '.join(summary.usernames)} "
        f"(mot de passe « {DEMO_PASSWORD} »).",
        flush=True,
    )


def _banner(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}"
    print(f"Permanence écoute sur {url}  (API : {url}/docs)", flush=True)
    if settings.demo_mode:  # the browser gives the microphone to https:// or localhost pages only
        print(f"Appelez l'agent depuis le navigateur : http://localhost:{settings.port}/softphone", flush=True)


def _call_handler(settings: Settings, engine: Engine, redis: Redis,
                  admission: MediaStreamAdmission) -> tuple[CallHandler | None, LiveCalls | None]:
    """The agent's call runner behind /media-stream and its live calls (for the hand-off); (None, None) if the
    models cannot load (calls are then refused with 1013)."""
    from agent.call_runner import CallRunner
    from agent.call_store import SqlCallStore
    from agent.llm_choice import RemoteLLMConfig, dialog_factory
    from agent.voice_stack import StackConfig, build_voice_stack

    config = StackConfig(data_dir=settings.data_dir, whisper_model=settings.whisper_model,
                         piper_voice=settings.piper_voice)
    try:
        stack = build_voice_stack(config)
    except Exception:
        log.exception("voice models unavailable: the media-stream gateway will refuse calls")
        return None, None
    live_calls = _live_calls(stack, engine, redis)
    if stack.reception is not None:  # LLM_BASE_URL + LLM_MODEL: a remote model, the offline engine as fallback
        stack.reception.make_dialog = dialog_factory(RemoteLLMConfig.from_settings(settings))
    if not admission.carrier_token_set and not admission.open_to_all:
        log.warning("MEDIA_STREAM_TOKEN is not set: carrier calls on /media-stream are refused (the softphone works)")
    return CallRunner(stack=stack, store=SqlCallStore(engine), live_calls=live_calls, admit=admission), live_calls


def _live_calls(stack: VoiceStack, engine: Engine, redis: Redis) -> LiveCallRegistry:
    """The hand-off: tickets go to the live queue and start the call's wait for a secretary."""
    from agent.live_calls import HandoffTickets, LiveCallRegistry, duckling_when, queue_policy
    from agent.reception_agent import ReceptionServices
    from escalation.queue import HumanQueue
    from escalation.threshold_store import ThresholdStore
    from escalation.ticket_store import TicketStore

    queue = HumanQueue(redis, TicketStore(engine))
    registry = LiveCallRegistry(queue_policy(queue, ThresholdStore(engine), engine))
    if stack.reception is None:
        stack.reception = ReceptionServices(db=engine, tickets=queue).warm()
    thresholds = ThresholdStore(engine)
    stack.reception.thresholds_for = lambda practice_id: thresholds.active(practice_id)[1]
    stack.reception.tickets = HandoffTickets(stack.reception.tickets, registry)
    registry.parse_when = duckling_when(stack.reception.parser) if stack.reception.parser else None
    return registry
