"""The LiveKit worker's composition root (`python -m agent start`): models once per process, one call per job."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from livekit.agents import JobContext, JobProcess, WorkerOptions

from agent.call_runner import VoiceStack
from agent.call_store import SqlCallStore
from agent.transports.livekit_room import run_room_call

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.engine import Engine

    from agent.reception_agent import ReceptionServices
    from practice.settings import Settings

log = logging.getLogger(__name__)

AGENT_NAME = "permanence-reception"  # SIP dispatch rules dispatch this agent to each caller's room


def prewarm(proc: JobProcess) -> None:
    """Read the settings and load everything a call needs once per job process: VAD, Whisper, the voices and
    the triage engine, the dialog (offline engine, or a remote LLM in front of it), the human queue the
    hand-off tickets go to, and the directory where the console finds each call's room."""
    from redis import Redis

    from agent.voice_stack import StackConfig, build_voice_stack
    from escalation.live_rooms import RedisRoomDirectory
    from practice.db import make_engine
    from practice.settings import Settings

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    config = StackConfig(data_dir=settings.data_dir, whisper_model=settings.whisper_model,
                         piper_voice=settings.piper_voice)
    stack = build_voice_stack(config)
    stack.reception = _reception(settings, engine, redis)
    stack.live_rooms = RedisRoomDirectory(redis)
    proc.userdata["stack"] = stack
    proc.userdata["engine"] = engine
    log.info("worker process warmed up")


def _reception(settings: Settings, engine: Engine, redis: Redis) -> ReceptionServices:
    """The dialog's services, as `permanence serve` builds them (tickets straight to the human queue: with
    LiveKit the secretary joins the caller's room rather than being bridged through a socket)."""
    from agent.llm_choice import RemoteLLMConfig, dialog_factory
    from agent.reception_agent import ReceptionServices
    from escalation.queue import HumanQueue
    from escalation.threshold_store import ThresholdStore
    from escalation.ticket_store import TicketStore

    reception = ReceptionServices(db=engine, tickets=HumanQueue(redis, TicketStore(engine))).warm()
    thresholds = ThresholdStore(engine)
    reception.thresholds_for = lambda practice_id: thresholds.active(practice_id)[1]
    reception.make_dialog = dialog_factory(RemoteLLMConfig.from_settings(settings))
    return reception


async def entrypoint(ctx: JobContext) -> None:
    """One job = one caller's room: the same reception agent and pipeline as the media-stream gateway."""
    stack: VoiceStack = ctx.proc.userdata["stack"]
    store = SqlCallStore(ctx.proc.userdata["engine"])
    await run_room_call(ctx, stack=stack, store=store, job_metadata=ctx.job.metadata or "")


def _settings() -> Settings:
    from practice.settings import Settings

    return Settings()


def worker_options(**overrides: Any) -> WorkerOptions:
    """The worker's options; LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET come from the environment."""
    options: dict[str, Any] = {
        "entrypoint_fnc": entrypoint,
        "prewarm_fnc": prewarm,
        "agent_name": AGENT_NAME,
        "initialize_process_timeout": 120.0,  # Whisper + voices + triage on a small CPU
        "num_idle_processes": 1,  # each warm process holds its own models (~0.5 GB)
        "port": _settings().worker_port,  # health endpoint (compose healthcheck)
    }
    options.update(overrides)
    return WorkerOptions(**options)
