"""Audit rows of the administration: who changed or viewed what, with the values before and after."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel

from console.auth import ConsoleUser
from practice.models import AuditLog

SECRET_FIELDS = frozenset({"password_hash", "password"})


def snapshot(row: SQLModel | None) -> dict[str, Any] | None:
    """A row as JSON-ready values, secrets left out."""
    if row is None:
        return None
    data: dict[str, Any] = row.model_dump(mode="json")
    return {k: v for k, v in data.items() if k not in SECRET_FIELDS}


def record(session: Session, user: ConsoleUser, *, action: str, entity: str, entity_id: object,
           practice_id: int | None, before: Any = None, after: Any = None, **extra: Any) -> None:
    """Add one audit row to the session (committed with the change it describes)."""
    detail: dict[str, Any] = {**extra}
    if before is not None:
        detail["before"] = before
    if after is not None:
        detail["after"] = after
    session.add(AuditLog(actor_user_id=user.id, actor=user.username, practice_id=practice_id, action=action,
                         entity=entity, entity_id=str(entity_id), detail=detail))
