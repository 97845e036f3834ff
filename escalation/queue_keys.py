"""Every Redis key and channel of Permanence (queue, presence, events, login limits, call rooms), in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueKeys:
    """Key names under one prefix (tests use a prefix of their own)."""

    prefix: str = "perm"

    def ticket(self, ticket_id: str) -> str:
        """Hash: the ticket's queue state (status, level, practice, skills, claimed_by, times)."""
        return f"{self.prefix}:ticket:{ticket_id}"

    def waiting(self, practice_id: int | str) -> str:
        """Sorted set: waiting ticket ids of a practice, lowest score served first."""
        return f"{self.prefix}:waiting:{practice_id}"

    @property
    def waiting_practices(self) -> str:
        """Set: practice ids that have a waiting sorted set."""
        return f"{self.prefix}:waiting-practices"

    def claimed_by(self, user_id: int | str) -> str:
        """Set: ticket ids a secretary currently holds."""
        return f"{self.prefix}:claimed-by:{user_id}"

    @property
    def presence(self) -> str:
        """Sorted set: secretary id → last heartbeat (epoch ms)."""
        return f"{self.prefix}:presence"

    @property
    def presence_status(self) -> str:
        """Hash: secretary id → available | busy | away."""
        return f"{self.prefix}:presence-status"

    @property
    def events_channel(self) -> str:
        """Pub/sub channel of queue events, for live pages."""
        return f"{self.prefix}:events"

    @property
    def events_stream(self) -> str:
        """Stream of recent queue events, so a reconnecting page can catch up."""
        return f"{self.prefix}:events-stream"

    def livekit_room(self, call_id: str) -> str:
        """String: the LiveKit room of a live call (published by the worker, read by the console)."""
        return f"{self.prefix}:livekit-room:{call_id}"

    def login_failures(self, digest: str) -> str:
        """Counter: failed logins of one username from one address (hashed), for the lock-out."""
        return f"{self.prefix}:login-failures:{digest}"

    def login_failures_address(self, digest: str) -> str:
        """Counter: failed logins from one address (hashed), whatever the username."""
        return f"{self.prefix}:login-failures-address:{digest}"

    def pattern(self) -> str:
        """Glob matching every key of this prefix (used by tests to clean up)."""
        return f"{self.prefix}:*"
