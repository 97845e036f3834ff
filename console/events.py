"""Live queue events for the console: one Redis stream reader per process fanned out to SSE clients.

A single thread reads the queue's event stream (`XREAD BLOCK`) and hands each event to every connected
page's asyncio queue; a page that reconnects with `Last-Event-ID` first gets what it missed (`XRANGE`).
Redis being down only pauses the reader (logged, retried); connected pages keep their heartbeats.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from redis import Redis
from redis.exceptions import RedisError

from escalation.queue_keys import QueueKeys

log = logging.getLogger("permanence.events")

HEARTBEAT_S = 15.0
BLOCK_MS = 1000
IDLE_STOP_S = 10.0
CATCH_UP_MAX = 1000

Event = tuple[str, dict[str, Any]]  # (stream id, event)


@dataclass(eq=False)
class Subscription:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)  # None: the server is stopping


def stream_id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def valid_stream_id(value: str | None) -> str | None:
    if not value:
        return None
    try:
        stream_id_key(value)
    except ValueError:
        return None
    return value


class EventBroadcaster:
    """Reads the queue's event stream in one thread and fans events out to subscribers."""

    def __init__(self, redis: Redis, keys: QueueKeys, *, block_ms: int = BLOCK_MS,
                 idle_stop_s: float = IDLE_STOP_S) -> None:
        self._redis = redis
        self.keys = keys
        self._block_ms = block_ms
        self._idle_stop_s = idle_stop_s
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscribe(self) -> Subscription:
        sub = Subscription(loop=asyncio.get_running_loop())
        with self._lock:
            self._subs.add(sub)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="queue-events", daemon=True)
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def close(self) -> None:
        """End every open stream (server shutdown: pages reconnect to the next process with Last-Event-ID)."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.queue.put_nowait, None)
            except RuntimeError:
                self.unsubscribe(sub)

    def read_after(self, stream_id: str) -> list[Event]:
        """Events after `stream_id` still in the stream (a reconnecting page catches up with these)."""
        rows: Any = self._redis.xrange(self.keys.events_stream, min=f"({stream_id}", count=CATCH_UP_MAX)
        return [e for e in (_decode(i, f) for i, f in rows or []) if e is not None]

    # --- the reader thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        last: str | None = None
        idle_since: float | None = None
        while True:
            with self._lock:
                if not self._subs:
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > self._idle_stop_s:
                        self._thread = None
                        return
                else:
                    idle_since = None
            last = self._tail_id() if last is None else self._read_once(last)

    def _tail_id(self) -> str | None:
        try:
            rows: Any = self._redis.xrevrange(self.keys.events_stream, count=1)
        except (RedisError, OSError, ValueError) as exc:
            log.warning("queue events unavailable (Redis); retrying", extra={"error": type(exc).__name__})
            time.sleep(1.0)
            return None
        return _text(rows[0][0]) if rows else "0-0"

    def _read_once(self, last: str) -> str:
        try:
            answer: Any = self._redis.xread({self.keys.events_stream: last}, count=200, block=self._block_ms)
        except (RedisError, OSError, ValueError) as exc:  # ValueError: the client was closed under us
            log.warning("queue events unavailable (Redis); retrying", extra={"error": type(exc).__name__})
            time.sleep(1.0)
            return last
        for _stream, rows in answer or []:
            for raw_id, fields in rows:
                last = _text(raw_id)
                event = _decode(raw_id, fields)
                if event is not None:
                    self._deliver(event)
        return last

    def _deliver(self, event: Event) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.queue.put_nowait, event)
            except RuntimeError:  # that page's event loop is closed
                self.unsubscribe(sub)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode(raw_id: Any, fields: Any) -> Event | None:
    if not isinstance(fields, dict):
        return None
    payload = fields.get(b"event", fields.get("event"))
    try:
        data = json.loads(_text(payload))
    except (TypeError, ValueError):
        return None
    return (_text(raw_id), data) if isinstance(data, dict) else None


def sse_message(event: Event) -> str:
    stream_id, data = event
    return f"id: {stream_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def sse_stream(
    broadcaster: EventBroadcaster, visible: Callable[[dict[str, Any]], bool], *, last_event_id: str | None,
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[str]:
    """The text/event-stream of one page: missed events first, then live ones, a comment every 15 s."""
    sub = broadcaster.subscribe()
    try:
        yield f"retry: 3000\n: connected {int(time.time() * 1000)}\n\n"
        sent = last_event_id
        if last_event_id:
            for missed in await _catch_up(broadcaster, last_event_id):
                sent = missed[0]
                if visible(missed[1]):
                    yield sse_message(missed)
        while True:
            try:
                live: Event | None = await asyncio.wait_for(sub.queue.get(), timeout=heartbeat_s)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if live is None:
                return
            if sent and stream_id_key(live[0]) <= stream_id_key(sent):
                continue
            if visible(live[1]):
                yield sse_message(live)
    finally:
        broadcaster.unsubscribe(sub)


async def _catch_up(broadcaster: EventBroadcaster, last_event_id: str) -> list[Event]:
    try:
        return await anyio.to_thread.run_sync(broadcaster.read_after, last_event_id)
    except RedisError:
        log.warning("queue events catch-up unavailable (Redis)")
        return []
