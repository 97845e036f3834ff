"""Retention of call data per practice (GDPR): defaults, validation, and the batched, idempotent purge."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from practice.i18n_marks import N_
from practice.models import utc_now

log = logging.getLogger("permanence.retention")

MIN_DAYS = 1
MAX_DAYS = 3650
BATCH_SIZE = 500
SYSTEM_ACTOR = "système (rétention)"
KIND_LABELS_FR = {
    "audio_days": N_("Enregistrements audio"),
    "transcript_days": N_("Transcriptions"),
    "summary_days": N_("Résumés de prise en charge"),
    "metadata_days": N_("Métadonnées d'appel (journal des appels)"),
}
OUT_OF_RANGE = N_("{kind} : entre {low} et {high} jours (reçu {value}).")
OUTLIVES_METADATA = N_("{kind} ne peuvent être gardé(e)s plus longtemps que les métadonnées d'appel ({days} jours) : "
                       "l'appel est supprimé avec tout ce qui s'y rattache.")


def _t(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


@dataclass(frozen=True)
class RetentionDays:
    """Days each kind of data is kept; the metadata (the call itself) goes last, with everything left."""

    audio_days: int = 30
    transcript_days: int = 90
    summary_days: int = 365
    metadata_days: int = 1095

    def problems(self) -> list[str]:
        """What is wrong with these durations, in French (empty when valid)."""
        found = [OUT_OF_RANGE.format(kind=KIND_LABELS_FR[k], low=MIN_DAYS, high=MAX_DAYS, value=v)
                 for k, v in asdict(self).items() if not MIN_DAYS <= v <= MAX_DAYS]
        for kind in ("audio_days", "transcript_days", "summary_days"):
            if getattr(self, kind) > self.metadata_days:
                found.append(OUTLIVES_METADATA.format(kind=KIND_LABELS_FR[kind], days=self.metadata_days))
        return found


DEFAULTS = RetentionDays()


@dataclass
class PurgeCounts:
    transcripts: int = 0
    summaries: int = 0
    calls: int = 0
    audio_files: int = 0

    def add(self, other: PurgeCounts) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


@dataclass
class PurgeReport:
    """What a purge removed (or would remove, in a dry run), in total and per practice (None: no practice)."""

    now: datetime
    dry_run: bool
    total: PurgeCounts = field(default_factory=PurgeCounts)
    by_practice: dict[int | None, PurgeCounts] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "dry_run": self.dry_run, "total": asdict(self.total),
                "by_practice": {str(k): asdict(v) for k, v in self.by_practice.items()}}


def policies(conn: Connection) -> dict[int | None, RetentionDays]:
    """Each practice's durations (defaults where none was set); None stands for calls with no practice."""
    found: dict[int | None, RetentionDays] = {None: DEFAULTS}
    for (pid,) in conn.execute(sa.select(_t("practice").c.id)):
        found[int(pid)] = DEFAULTS
    policy = _t("retention_policy")
    for row in conn.execute(sa.select(policy)):
        found[int(row.practice_id)] = RetentionDays(audio_days=row.audio_days, transcript_days=row.transcript_days,
                                                    summary_days=row.summary_days, metadata_days=row.metadata_days)
    return found


def purge(engine: Engine, *, now: datetime | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE,
          recordings_dir: Path | None = None) -> PurgeReport:
    """Blank or delete what is past its retention; count only when `dry_run`. Re-running finds nothing more."""
    report = PurgeReport(now=now or utc_now(), dry_run=dry_run)
    with engine.connect() as conn:
        rules = policies(conn)
    for practice_id, days in rules.items():
        counts = _purge_practice(engine, practice_id, days, report, batch_size)
        if recordings_dir is not None:
            counts.audio_files = _purge_audio(engine, recordings_dir, practice_id, report.now - timedelta(
                days=days.audio_days), dry_run)
        report.by_practice[practice_id] = counts
        report.total.add(counts)
    if not dry_run:
        _audit(engine, report)
    return report


def _purge_practice(engine: Engine, practice_id: int | None, days: RetentionDays, report: PurgeReport,
                    batch_size: int) -> PurgeCounts:
    now, dry = report.now, report.dry_run
    return PurgeCounts(
        transcripts=_batched(engine, _turn_ids(practice_id, now - timedelta(days=days.transcript_days)),
                             _blank_turns, dry, batch_size),
        summaries=_batched(engine, _ticket_ids(practice_id, now - timedelta(days=days.summary_days)),
                           _blank_tickets, dry, batch_size),
        calls=_batched(engine, _call_ids(practice_id, now - timedelta(days=days.metadata_days)),
                       _delete_calls, dry, batch_size),
    )


def _of_practice(column: sa.ColumnElement[Any], practice_id: int | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if practice_id is None else column == practice_id


def _turn_ids(practice_id: int | None, cutoff: datetime) -> sa.Select[Any]:
    turn, call = _t("turn"), _t("call")
    old_calls = sa.select(call.c.id).where(_of_practice(call.c.practice_id, practice_id), call.c.started_at < cutoff)
    return sa.select(turn.c.id).where(turn.c.call_id.in_(old_calls),
                                      sa.or_(turn.c.text != "", turn.c.triage.is_not(None)))


def _ticket_ids(practice_id: int | None, cutoff: datetime) -> sa.Select[Any]:
    ticket = _t("ticket")
    return sa.select(ticket.c.id).where(_of_practice(ticket.c.practice_id, practice_id), ticket.c.created_at < cutoff,
                                        sa.or_(sa.cast(ticket.c.summary, sa.Text) != "{}", ticket.c.reason != ""))


def _call_ids(practice_id: int | None, cutoff: datetime) -> sa.Select[Any]:
    call = _t("call")
    return sa.select(call.c.id).where(_of_practice(call.c.practice_id, practice_id), call.c.started_at < cutoff)


def _batched(engine: Engine, ids_query: sa.Select[Any], apply: Callable[[Connection, list[Any]], None], dry_run: bool,
             batch_size: int) -> int:
    """Apply to the matching rows `batch_size` at a time, one transaction per batch; return how many."""
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(ids_query.subquery())).scalar_one())
    done = 0
    while True:
        with engine.begin() as conn:
            ids = [row[0] for row in conn.execute(ids_query.limit(batch_size))]
            if not ids:
                return done
            apply(conn, ids)
        done += len(ids)


def _blank_turns(conn: Connection, ids: list[Any]) -> None:
    turn = _t("turn")
    conn.execute(sa.update(turn).where(turn.c.id.in_(ids)).values(text="", triage=sa.null()))


def _blank_tickets(conn: Connection, ids: list[Any]) -> None:
    """The summary and reason go, and so do the free notes written about the call (events, audit rows)."""
    ticket, event, audit = _t("ticket"), _t("ticket_event"), _t("audit_log")
    conn.execute(sa.update(ticket).where(ticket.c.id.in_(ids)).values(summary={}, reason=""))
    _drop_notes(conn, event, event.c.ticket_id.in_(ids))
    _drop_notes(conn, audit, sa.and_(audit.c.entity.in_(["ticket", "call"]), audit.c.entity_id.in_(ids)))


def _drop_notes(conn: Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> None:
    """JSON `detail` without its free-text `note` (read and rewritten row by row: portable across databases)."""
    for row in conn.execute(sa.select(table.c.id, table.c.detail).where(where)).all():
        if isinstance(row.detail, dict) and row.detail.get("note"):
            conn.execute(sa.update(table).where(table.c.id == row.id).values(detail={**row.detail, "note": ""}))


def _delete_calls(conn: Connection, ids: list[Any]) -> None:
    """A call and everything hanging off it (its review too); appointments booked during it stay, unlinked."""
    turn, ticket, event, call, appointment = (_t(n) for n in ("turn", "ticket", "ticket_event", "call", "appointment"))
    review = _t("call_review")
    conn.execute(sa.delete(review).where(review.c.call_id.in_(ids)))
    conn.execute(sa.delete(turn).where(turn.c.call_id.in_(ids)))
    conn.execute(sa.delete(event).where(event.c.ticket_id.in_(ids)))
    conn.execute(sa.delete(ticket).where(ticket.c.id.in_(ids)))
    conn.execute(sa.update(appointment).where(appointment.c.call_id.in_(ids)).values(call_id=None))
    conn.execute(sa.delete(call).where(call.c.id.in_(ids)))


def _purge_audio(engine: Engine, folder: Path, practice_id: int | None, cutoff: datetime, dry_run: bool) -> int:
    """Recordings are files named after their call id; a file goes once its call is older than the cutoff."""
    if not folder.is_dir():
        return 0
    files = {p.name.split(".", 1)[0]: p for p in folder.iterdir() if p.is_file()}
    if not files:
        return 0
    call = _t("call")
    query = sa.select(call.c.id, call.c.started_at).where(call.c.id.in_(list(files)))
    with engine.connect() as conn:
        known = {row.id: row.started_at for row in conn.execute(query)}
        mine = {row.id for row in conn.execute(
            sa.select(call.c.id).where(call.c.id.in_(list(files)), _of_practice(call.c.practice_id, practice_id)))}
    expired = [files[i] for i in mine if known[i] < cutoff]
    if practice_id is None:  # a recording whose call is already gone has nothing left to keep it for
        expired += [p for i, p in files.items() if i not in known]
    if not dry_run:
        for path in expired:
            path.unlink(missing_ok=True)
    return len(expired)


def _audit(engine: Engine, report: PurgeReport) -> None:
    audit = _t("audit_log")
    with engine.begin() as conn:
        conn.execute(sa.insert(audit).values(at=utc_now(), actor=SYSTEM_ACTOR, action="purge", entity="retention",
                                             entity_id="", detail=report.to_dict(), practice_id=None))
    log.info("retention purge done", extra={"counts": asdict(report.total)})


class RetentionScheduler:
    """Runs the purge in a daemon thread every `interval_s` (first run after `first_delay_s`) until stopped."""

    def __init__(self, engine: Engine, *, interval_s: float = 3600.0, first_delay_s: float = 300.0,
                 recordings_dir: Path | None = None) -> None:
        self._engine = engine
        self.interval_s = interval_s
        self.first_delay_s = first_delay_s
        self.recordings_dir = recordings_dir
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="retention-purge", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        wait = self.first_delay_s
        while not self._stop.wait(wait):
            self.run_once()
            wait = self.interval_s

    def run_once(self) -> PurgeReport | None:
        """One purge; errors are logged (type only), never raised: the thread must survive them."""
        try:
            return purge(self._engine, recordings_dir=self.recordings_dir)
        except Exception as exc:
            log.warning("retention purge failed, will retry", extra={"error": type(exc).__name__})
            return None
