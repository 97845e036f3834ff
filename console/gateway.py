"""The media-stream call gateway: a WebSocket route handing each accepted socket to the injected call handler."""

from __future__ import annotations

import logging
from typing import Protocol

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

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


class StarletteMediaSocket:
    """Adapts Starlette's WebSocket to `MediaSocket`; a disconnect reads as None, never as an exception."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket
        self.closed = False

    async def receive(self) -> str | bytes | None:
        if self.closed:
            return None
        try:
            message = await self._ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            message = {"type": "websocket.disconnect"}
        if message["type"] == "websocket.disconnect":
            self.closed = True
            return None
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def send(self, text: str) -> None:
        if self.closed:
            raise ConnectionError("socket closed")
        try:
            await self._ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            self.closed = True
            raise ConnectionError("socket closed") from exc

    async def close(self, code: int, reason: str) -> None:
        if self.closed or self._ws.application_state == WebSocketState.DISCONNECTED:
            self.closed = True
            return
        self.closed = True
        try:
            await self._ws.close(code=code, reason=reason[:120])
        except (RuntimeError, OSError):
            log.debug("close on a socket already gone")


@router.websocket("/media-stream")
async def media_stream(websocket: WebSocket) -> None:
    """Twilio Media Streams protocol endpoint: one socket, one call."""
    await websocket.accept()
    socket = StarletteMediaSocket(websocket)
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
