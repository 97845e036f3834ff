"""Starlette WebSockets adapted to the small socket protocols of the call gateway and the hand-off."""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

log = logging.getLogger("permanence.sockets")


class StarletteSocket:
    """A disconnect reads as None and a send on a gone socket raises ConnectionError, never anything else."""

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
        await self._send(text)

    async def send_text(self, text: str) -> None:
        await self._send(text)

    async def send_bytes(self, data: bytes) -> None:
        await self._send(data)

    async def _send(self, data: str | bytes) -> None:
        if self.closed:
            raise ConnectionError("socket closed")
        try:
            if isinstance(data, bytes):
                await self._ws.send_bytes(data)
            else:
                await self._ws.send_text(data)
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
