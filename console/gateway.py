"""The media-stream call gateway: a WebSocket route handing each accepted socket to the injected call handler."""

from __future__ import annotations

import logging
from typing import Protocol

from fastapi import APIRouter, WebSocket

from console.sockets import StarletteSocket

log = logging.getLogger(__name__)

router = APIRouter()

AGENT_UNAVAILABLE = 1013
INTERNAL_ERROR = 1011


class MediaSocket(Protocol):
    """What a call handler reads and writes: text/bytes messages, None once the peer has gone."""

    async def receive(self) -> str | bytes | None: ...

    async def send(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class CallHandler(Protocol):
    """Runs one call over one accepted socket (the composition root injects the agent's call runner)."""

    async def __call__(self, socket: MediaSocket) -> None: ...


@router.websocket("/media-stream")
async def media_stream(websocket: WebSocket) -> None:
    """Twilio Media Streams protocol endpoint: one socket, one call."""
    await websocket.accept()
    socket = StarletteSocket(websocket)
    handler: CallHandler | None = getattr(websocket.app.state, "call_handler", None)
    if handler is None:
        await socket.close(AGENT_UNAVAILABLE, "agent unavailable")
        return
    try:
        await handler(socket)
    except Exception as exc:  # by type only: a message may carry what the caller said
        log.error("call handler failed", extra={"error": type(exc).__name__})
        await socket.close(INTERNAL_ERROR, "internal error")
    finally:
        await socket.close(1000, "call ended")
