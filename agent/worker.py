"""The LiveKit worker's composition root (`python -m agent start`): models once per process, one call per job."""

from __future__ import annotations

import logging
import os
from typing import Any

from livekit.agents import JobContext, JobProcess, WorkerOptions

from agent.call_runner import VoiceStack
from agent.call_store import SqlCallStore
from agent.transports.livekit_room import run_room_call

log = logging.getLogger(__name__)

AGENT_NAME = "permanence-reception"  # SIP dispatch rules dispatch this agent to each caller's room
HEALTH_PORT = 8081  # GET / answers 200 once connected to LiveKit (compose healthcheck)


def prewarm(proc: JobProcess) -> None:
    """Read the settings and load VAD, Whisper, the voices and the triage engine once per job process."""
    from agent.voice_stack import StackConfig, build_voice_stack
    from practice.db import make_engine
    from practice.settings import Settings

    settings = Settings()
    config = StackConfig(data_dir=settings.data_dir, whisper_model=settings.whisper_model,
                         piper_voice=settings.piper_voice)
    proc.userdata["stack"] = build_voice_stack(config)
    proc.userdata["engine"] = make_engine(settings.resolved_database_url)
    log.info("worker process warmed up")


async def entrypoint(ctx: JobContext) -> None:
    """One job = one caller's room: the same reception agent and pipeline as the media-stream gateway."""
    stack: VoiceStack = ctx.proc.userdata["stack"]
    store = SqlCallStore(ctx.proc.userdata["engine"])
    await run_room_call(ctx, stack=stack, store=store, job_metadata=ctx.job.metadata or "")


def worker_options(**overrides: Any) -> WorkerOptions:
    """The worker's options; LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET come from the environment."""
    options: dict[str, Any] = {
        "entrypoint_fnc": entrypoint,
        "prewarm_fnc": prewarm,
        "agent_name": AGENT_NAME,
        "initialize_process_timeout": 120.0,  # Whisper + voices + triage on a small CPU
        "num_idle_processes": 1,  # each warm process holds its own models (~0.5 GB)
        # TODO(settings): move into practice.settings.Settings with the other process settings
        "port": int(os.environ.get("PERMANENCE_WORKER_PORT", HEALTH_PORT)),
    }
    options.update(overrides)
    return WorkerOptions(**options)
