"""Reading the audit log: filters, pages, and CSV/JSON export (what the GDPR register needs)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from console.auth import ConsoleUser
from practice.models import AuditLog

CSV_COLUMNS = ("id", "at", "actor", "actor_user_id", "practice_id", "action", "entity", "entity_id", "detail")
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    practice_id: int | None = None
    entity: str = ""
    entity_id: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None


def _query(user: ConsoleUser, f: AuditFilter) -> Any:
    query = select(AuditLog)
    if f.actor:
        query = query.where(AuditLog.actor == f.actor)
    if f.practice_id is not None:
        query = query.where(AuditLog.practice_id == f.practice_id)
    if f.entity:
        query = query.where(AuditLog.entity == f.entity)
    if f.entity_id:
        query = query.where(AuditLog.entity_id == f.entity_id)
    if f.action:
        query = query.where(AuditLog.action == f.action)
    if f.since:
        query = query.where(col(AuditLog.at) >= datetime.combine(f.since, time(), tzinfo=UTC))
    if f.until:
        query = query.where(col(AuditLog.at) < datetime.combine(f.until + timedelta(days=1), time(), tzinfo=UTC))
    if user.role != "admin":  # a manager reads her practices' rows and group-wide ones
        query = query.where(col(AuditLog.practice_id).in_(user.practice_ids) | col(AuditLog.practice_id).is_(None))
    return query


def search(session: Session, user: ConsoleUser, f: AuditFilter, *, limit: int = 100, offset: int = 0) -> list[AuditLog]:
    query = _query(user, f).order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).offset(offset).limit(limit)
    return list(session.exec(query))


def _row(entry: AuditLog) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "actor_user_id": entry.actor_user_id,
            "practice_id": entry.practice_id, "action": entry.action, "entity": entry.entity,
            "entity_id": entry.entity_id, "detail": entry.detail}


def export_csv(session: Session, user: ConsoleUser, f: AuditFilter) -> str:
    """CSV (header first); `detail` is JSON in one cell. Built whole, so an error is an error, not a cut file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in search(session, user, f, limit=EXPORT_LIMIT):
        row = _row(entry)
        row["detail"] = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    """No formula injection when the export is opened in a spreadsheet."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_json(session: Session, user: ConsoleUser, f: AuditFilter) -> list[dict[str, Any]]:
    return [_row(e) for e in search(session, user, f, limit=EXPORT_LIMIT)]
