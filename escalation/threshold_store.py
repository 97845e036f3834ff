"""The manager's versioned, audited escalation thresholds in the database (draft → active → archived)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from escalation.thresholds import DEFAULT_THRESHOLDS, InvalidThresholds, Thresholds, parse_thresholds
from practice.i18n_marks import N_
from practice.models import AuditLog, ConfigStatus, ThresholdConfig, utc_now

logger = logging.getLogger(__name__)

ENTITY = "threshold_config"
_LOCK_CLASS = 0x7E5C  # first key of PostgreSQL's two-key advisory lock: "threshold configuration"


class ThresholdStoreError(Exception):
    """A threshold configuration change was refused (the message is French, for the manager)."""


class ConfigNotFound(ThresholdStoreError, LookupError):
    """No such configuration (id or version)."""


class ConfigStateError(ThresholdStoreError):
    """The configuration is not in a state that allows this change (e.g. editing an active version)."""


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys: {"sla_seconds": {"urgent": 120}} → {"sla_seconds.urgent": 120}."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def diff_values(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The settings that differ, each as {"before": old, "after": new} (old is None when absent)."""
    old, new = flatten(before or {}), flatten(after)
    keys = sorted(set(old) | set(new))
    return {k: {"before": old.get(k), "after": new.get(k)} for k in keys if old.get(k) != new.get(k)}


def _normalised(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated, complete values (defaults filled) as JSON-ready data; InvalidThresholds if refused."""
    return parse_thresholds(dict(values)).model_dump(mode="json")


def _same_practice(practice_id: int | None) -> Any:
    """SQL condition selecting the rows of one practice (NULL = the group default)."""
    column = col(ThresholdConfig.practice_id)
    return column.is_(None) if practice_id is None else column == practice_id


class ThresholdStore:
    """Versioned threshold configurations per practice, with a group default and an audit trail."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reading ---------------------------------------------------------------------------------------

    def active(self, practice_id: int | None) -> tuple[ThresholdConfig | None, Thresholds]:
        """The practice's active configuration, else the group default's, else the built-in defaults."""
        with Session(self.engine, expire_on_commit=False) as session:
            for candidate in dict.fromkeys([practice_id, None]):
                row = self._active_row(session, candidate)
                parsed = self._parse_stored(row)
                if row is not None and parsed is not None:
                    return row, parsed
        return None, DEFAULT_THRESHOLDS

    def get(self, config_id: int) -> ThresholdConfig:
        """One configuration by id; ConfigNotFound if there is none."""
        with Session(self.engine, expire_on_commit=False) as session:
            return self._get(session, config_id)

    def history(self, practice_id: int | None) -> list[ThresholdConfig]:
        """Every version of a practice's configuration (NULL = group default), newest first."""
        with Session(self.engine, expire_on_commit=False) as session:
            query = (
                select(ThresholdConfig)
                .where(_same_practice(practice_id))
                .order_by(col(ThresholdConfig.version).desc())
            )
            return list(session.exec(query).all())

    def audit_trail(self, practice_id: int | None) -> list[AuditLog]:
        """The audit rows of a practice's configurations, newest first."""
        ids = [str(row.id) for row in self.history(practice_id)]
        with Session(self.engine, expire_on_commit=False) as session:
            query = (
                select(AuditLog)
                .where(AuditLog.entity == ENTITY, col(AuditLog.entity_id).in_(ids))
                .order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())
            )
            return list(session.exec(query).all())

    # --- changing --------------------------------------------------------------------------------------

    def create_draft(
        self,
        practice_id: int | None,
        values: Mapping[str, Any],
        *,
        actor_user_id: int | None = None,
        actor: str = "",
        note: str = "",
    ) -> ThresholdConfig:
        """A new draft version (validated first: InvalidThresholds and nothing written if refused)."""
        normalised = _normalised(values)
        with self._locked(practice_id) as session:
            row = ThresholdConfig(
                practice_id=practice_id,
                version=self._next_version(session, practice_id),
                status=ConfigStatus.draft,
                values=normalised,
                note=note,
                created_by=actor_user_id,
            )
            session.add(row)
            session.flush()
            before = self._active_values(session, practice_id)
            self._audit(session, "threshold.create_draft", row, actor_user_id, actor,
                        changes=diff_values(before, normalised), reason=note)
            return row

    def update_draft(
        self,
        config_id: int,
        values: Mapping[str, Any],
        *,
        actor_user_id: int | None = None,
        actor: str = "",
        note: str | None = None,
    ) -> ThresholdConfig:
        """Replace a draft's values (a partial mapping is completed with the defaults)."""
        normalised = _normalised(values)
        with self._locked(self._practice_of(config_id)) as session:
            row = self._get(session, config_id)
            self._require(row, ConfigStatus.draft, N_(
                "la version {version} est « {status} » : seule une version « draft » peut être modifiée"))
            changes = diff_values(row.values, normalised)
            row.values = normalised
            if note is not None:
                row.note = note
            session.add(row)
            self._audit(session, "threshold.update_draft", row, actor_user_id, actor,
                        changes=changes, reason=note or "")
            return row

    def activate(
        self,
        config_id: int,
        *,
        actor_user_id: int | None = None,
        actor: str = "",
        reason: str = "",
    ) -> ThresholdConfig:
        """Make a draft the practice's only active version; the previous one is archived (atomic)."""
        with self._locked(self._practice_of(config_id)) as session:
            row = self._get(session, config_id)
            if row.status == ConfigStatus.active:
                return row
            self._require(row, ConfigStatus.draft, N_(
                "la version {version} est « {status} » : seule une version « draft » peut être activée "
                "(utilisez un retour arrière)"))
            _normalised(row.values)
            self._promote(session, row, "threshold.activate", actor_user_id, actor, reason)
            return row

    def rollback(
        self,
        practice_id: int | None,
        to_version: int,
        *,
        actor_user_id: int | None = None,
        actor: str = "",
        reason: str = "",
    ) -> ThresholdConfig:
        """A new active version carrying an earlier version's values; the current one is archived."""
        with self._locked(practice_id) as session:
            source = self._version(session, practice_id, to_version)
            row = ThresholdConfig(
                practice_id=practice_id,
                version=self._next_version(session, practice_id),
                values=_normalised(source.values),
                note=f"Retour à la version {to_version}" + (f" : {reason}" if reason else ""),
                created_by=actor_user_id,
            )
            session.add(row)
            session.flush()
            self._promote(session, row, "threshold.rollback", actor_user_id, actor, reason,
                          rolled_back_to=to_version)
            return row

    # --- internals -------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self, practice_id: int | None) -> Iterator[Session]:
        """One transaction holding the practice's configuration lock; commits on success."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                self._lock(session, practice_id)
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def _lock(self, session: Session, practice_id: int | None) -> None:
        """Serialise changes to one practice's versions (advisory lock on PostgreSQL, write lock on SQLite)."""
        if self.engine.dialect.name == "postgresql":
            key = sa.text("SELECT pg_advisory_xact_lock(:cls, :obj)")
            session.execute(key, {"cls": _LOCK_CLASS, "obj": practice_id or 0})
        elif self.engine.dialect.name == "sqlite":
            session.execute(sa.text("BEGIN IMMEDIATE"))

    def _promote(
        self,
        session: Session,
        row: ThresholdConfig,
        action: str,
        actor_user_id: int | None,
        actor: str,
        reason: str,
        **extra: Any,
    ) -> None:
        """Archive the current active version(s) of `row`'s practice, make `row` active, audit it."""
        previous = self._active_row(session, row.practice_id)
        for old in session.exec(self._actives(row.practice_id)).all():
            old.status = ConfigStatus.archived
            session.add(old)
        session.flush()  # archive first: the one-active-version unique index checks every statement
        row.status = ConfigStatus.active
        row.activated_at = utc_now()
        session.add(row)
        session.flush()
        before = previous.values if previous is not None else DEFAULT_THRESHOLDS.model_dump(mode="json")
        self._audit(session, action, row, actor_user_id, actor, changes=diff_values(before, row.values),
                    reason=reason, previous_version=previous.version if previous else None, **extra)

    @staticmethod
    def _actives(practice_id: int | None) -> Any:
        return select(ThresholdConfig).where(
            _same_practice(practice_id), ThresholdConfig.status == ConfigStatus.active
        )

    def _active_row(self, session: Session, practice_id: int | None) -> ThresholdConfig | None:
        query = self._actives(practice_id).order_by(col(ThresholdConfig.version).desc())
        row: ThresholdConfig | None = session.exec(query).first()
        return row

    def _active_values(self, session: Session, practice_id: int | None) -> dict[str, Any]:
        row = self._active_row(session, practice_id)
        return row.values if row is not None else DEFAULT_THRESHOLDS.model_dump(mode="json")

    @staticmethod
    def _parse_stored(row: ThresholdConfig | None) -> Thresholds | None:
        """A stored row's thresholds; None (and a warning) if they no longer validate."""
        if row is None:
            return None
        try:
            return parse_thresholds(row.values)
        except InvalidThresholds:
            logger.warning("stored threshold configuration no longer valid", extra={"config_id": row.id})
            return None

    @staticmethod
    def _next_version(session: Session, practice_id: int | None) -> int:
        query = select(sa.func.max(ThresholdConfig.version)).where(_same_practice(practice_id))
        return int(session.exec(query).one() or 0) + 1

    @staticmethod
    def _get(session: Session, config_id: int) -> ThresholdConfig:
        row = session.get(ThresholdConfig, config_id)
        if row is None:
            raise ConfigNotFound(N_("configuration de seuils introuvable : {config_id}").format(config_id=config_id))
        return row

    @staticmethod
    def _version(session: Session, practice_id: int | None, version: int) -> ThresholdConfig:
        query = select(ThresholdConfig).where(_same_practice(practice_id), ThresholdConfig.version == version)
        row = session.exec(query).first()
        if row is None:
            raise ConfigNotFound(N_("version {version} introuvable pour ce cabinet").format(version=version))
        return row

    def _practice_of(self, config_id: int) -> int | None:
        return self.get(config_id).practice_id

    @staticmethod
    def _require(row: ThresholdConfig, status: ConfigStatus, refusal: str) -> None:
        """Refuse a change of a version not in `status`; `refusal` names {version} and its {status}."""
        if row.status != status:
            raise ConfigStateError(refusal.format(version=row.version, status=row.status))

    @staticmethod
    def _audit(
        session: Session,
        action: str,
        row: ThresholdConfig,
        actor_user_id: int | None,
        actor: str,
        **detail: Any,
    ) -> None:
        """One audit row: who (user id and name), when (now), what (version, changes, reason)."""
        detail = {"practice_id": row.practice_id, "version": row.version, "status": str(row.status), **detail}
        session.add(AuditLog(actor_user_id=actor_user_id, actor=actor, action=action, entity=ENTITY,
                             entity_id=str(row.id), detail=detail))
