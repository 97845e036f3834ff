"""Migrations: the schema they build is exactly the models', on SQLite and PostgreSQL, and re-runs are no-ops."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from practice.db import migrate
from practice.models import ThresholdConfig

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
]


def test_migrated_schema_matches_the_models(engine: Engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_migrate_twice_is_a_no_op(engine: Engine):
    migrate(engine)
    migrate(engine)


def _threshold_row(version: int, status: str) -> ThresholdConfig:
    return ThresholdConfig(practice_id=None, version=version, status=status, values={})


@pytest.mark.parametrize(
    ("first", "second"),
    [((1, "archived"), (1, "draft")), ((1, "active"), (2, "active"))],
    ids=["duplicate-version-of-group-default", "two-active-group-defaults"],
)
def test_expression_indexes_guard_threshold_versions(engine: Engine, first: tuple[int, str], second: tuple[int, str]):
    with Session(engine) as session:
        session.add(_threshold_row(*first))
        session.commit()
        session.add(_threshold_row(*second))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
