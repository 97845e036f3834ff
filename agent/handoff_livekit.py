"""LiveKit mode of the hand-off: the call's room published for the console; a joining secretary mutes the agent.

The secretary joins with a token the console mints (identity `secretary-…`); the agent then turns its audio
input and output off, and her leaving ends the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from livekit.agents import AgentSession

log = logging.getLogger(__name__)

SECRETARY_PREFIX = "secretary-"


class RoomPublisher(Protocol):
    """Where the console finds a call's room (`escalation.live_rooms.RedisRoomDirectory`)."""

    def publish(self, call_id: str, room: str) -> None: ...

    def forget(self, call_id: str) -> None: ...


def is_secretary(participant: Any) -> bool:
    return str(getattr(participant, "identity", "")).startswith(SECRETARY_PREFIX)


def switch_agent_audio(session: AgentSession[Any], *, enabled: bool) -> None:
    """The agent's room audio on or off: off, it neither hears the caller nor speaks (a human has the call)."""
    if not enabled:
        with contextlib.suppress(RuntimeError):
            session.interrupt(force=True)
    session.input.set_audio_enabled(enabled)
    session.output.set_audio_enabled(enabled)


class RoomHandoff:
    """Watches one call's room for the secretary; publishes the room while the call lasts.

    `room` is an `rtc.Room` (its `name`, `on` and `off` are used; tests pass a fake).
    """

    def __init__(self, *, session: AgentSession[Any], room: Any, call_id: str, rooms: RoomPublisher,
                 hangup: asyncio.Event) -> None:
        self.session, self.room, self.call_id, self.rooms, self.hangup = session, room, call_id, rooms, hangup
        self.secretary: str | None = None

    def start(self) -> RoomHandoff:
        self.rooms.publish(self.call_id, self.room.name)
        self.room.on("participant_connected", self._joined)
        self.room.on("participant_disconnected", self._left)
        return self

    def stop(self) -> None:
        self.room.off("participant_connected", self._joined)
        self.room.off("participant_disconnected", self._left)
        self.rooms.forget(self.call_id)

    def _joined(self, participant: Any) -> None:
        if not is_secretary(participant) or self.secretary is not None:
            return
        self.secretary = str(participant.identity)
        switch_agent_audio(self.session, enabled=False)
        log.info("secretary joined the room; agent audio off", extra={"call_id": self.call_id})

    def _left(self, participant: Any) -> None:
        if self.secretary is None or str(getattr(participant, "identity", "")) != self.secretary:
            return
        log.info("secretary left the room; the call ends", extra={"call_id": self.call_id})
        self.hangup.set()
