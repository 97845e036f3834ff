"""Which LiveKit room each live call is in: the worker publishes it, the console reads it to mint a token."""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError

from escalation.queue_keys import QueueKeys

log = logging.getLogger("permanence.live_rooms")

ROOM_TTL_S = 4 * 3600  # longer than any call; a crashed worker's entries expire by themselves


class RedisRoomDirectory:
    """Call id → LiveKit room name on Redis, under the queue's key prefix."""

    def __init__(self, redis: Redis, keys: QueueKeys | None = None, *, ttl_s: int = ROOM_TTL_S) -> None:
        self._redis = redis
        self._keys = keys or QueueKeys()
        self._ttl_s = ttl_s

    def _key(self, call_id: str) -> str:
        return self._keys.livekit_room(call_id)

    def publish(self, call_id: str, room: str) -> None:
        try:
            self._redis.set(self._key(call_id), room, ex=self._ttl_s)
        except RedisError:
            log.warning("could not publish the call's room", extra={"call_id": call_id})

    def forget(self, call_id: str) -> None:
        try:
            self._redis.delete(self._key(call_id))
        except RedisError:
            log.warning("could not forget the call's room", extra={"call_id": call_id})

    def room_for(self, call_id: str) -> str | None:
        value = self._redis.get(self._key(call_id))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)


class MemoryRoomDirectory:
    """In-memory fake for tests."""

    def __init__(self) -> None:
        self.rooms: dict[str, str] = {}

    def publish(self, call_id: str, room: str) -> None:
        self.rooms[call_id] = room

    def forget(self, call_id: str) -> None:
        self.rooms.pop(call_id, None)

    def room_for(self, call_id: str) -> str | None:
        return self.rooms.get(call_id)
