"""Background upkeep of the human queue in the server process: rebuild, SLA timers, vanished secretaries.

Started by the composition root. At start, and whenever Redis comes back empty (restart: its run id
changes), the queue is rebuilt from the database; then every few seconds tickets past their SLA are
bumped and the tickets of secretaries whose page went silent are re-offered. Redis or the database
being down is logged and retried; the thread never dies of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from escalation.queue import HumanQueue, QueueError
from escalation.threshold_store import ThresholdStore
from escalation.thresholds import SlaSeconds
from practice.models import Practice

log = logging.getLogger("permanence.maintenance")

INTERVAL_S = 3.0
PRESENCE_TIMEOUT_S = 45.0
THRESHOLDS_TTL_S = 60.0


@dataclass
class TickReport:
    rebuilt: int | None = None
    sla_breached: list[str] = field(default_factory=list)
    freed: dict[int, list[str]] = field(default_factory=dict)
    error: str = ""


class QueueMaintenance:
    """Runs `tick()` every `interval_s` in a daemon thread until `stop()`."""

    def __init__(self, queue: HumanQueue, redis: Redis, engine: Engine, *, interval_s: float = INTERVAL_S,
                 presence_timeout_s: float = PRESENCE_TIMEOUT_S, thresholds_ttl_s: float = THRESHOLDS_TTL_S) -> None:
        self._queue = queue
        self._redis = redis
        self._engine = engine
        self._thresholds = ThresholdStore(engine)
        self.interval_s = interval_s
        self.presence_timeout_s = presence_timeout_s
        self._thresholds_ttl_s = thresholds_ttl_s
        self._sla: tuple[float, dict[int, SlaSeconds], SlaSeconds] | None = None
        self._redis_run_id: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="queue-maintenance", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval_s)

    def tick(self) -> TickReport:
        """One round of upkeep; errors are logged and reported, never raised."""
        report = TickReport()
        try:
            report.rebuilt = self._rebuild_if_needed()
            report.sla_breached = self._queue.check_sla(self._sla_policy())
            report.freed = self._queue.reap_vanished(timeout_s=self.presence_timeout_s)
        except (RedisError, QueueError) as exc:
            self._redis_run_id = None  # rebuild once Redis answers again
            report.error = type(exc).__name__
            log.warning("queue maintenance: Redis unavailable, will retry", extra={"error": report.error})
        except sa.exc.SQLAlchemyError as exc:
            report.error = type(exc).__name__
            log.warning("queue maintenance: database unavailable, will retry", extra={"error": report.error})
        except Exception as exc:  # the upkeep thread must outlive any bug in one round
            report.error = type(exc).__name__
            log.exception("queue maintenance round failed")
        if report.rebuilt:
            log.info("queue rebuilt from the database", extra={"tickets": report.rebuilt})
        if report.sla_breached:
            log.warning("tickets waiting past their SLA", extra={"tickets": report.sla_breached})
        return report

    def _rebuild_if_needed(self) -> int | None:
        run_id = str(self._redis.info("server").get("run_id", ""))
        if run_id and run_id == self._redis_run_id:
            return None
        restored = self._queue.rebuild_from_database()
        self._redis_run_id = run_id
        return restored

    def _sla_policy(self) -> Callable[[int], SlaSeconds]:
        """Each practice's SLA from its active thresholds (group default for unknown ids), cached a while."""
        now = time.monotonic()
        if self._sla is None or now - self._sla[0] >= self._thresholds_ttl_s:
            with Session(self._engine) as session:
                practice_ids = [p for p in session.exec(select(Practice.id)) if p is not None]
            table = {p: self._thresholds.active(p)[1].sla_seconds for p in practice_ids}
            self._sla = (now, table, self._thresholds.active(None)[1].sla_seconds)
        _, table, default = self._sla
        return lambda practice_id: table.get(practice_id, default)
