"""Migrations: the schema they build is exactly the models', on SQLite and PostgreSQL, and re-runs are no-ops."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from practice.db import migrate

pytestmark = pytest.mark.integration


def test_migrated_schema_matches_the_models(engine: Engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_migrate_twice_is_a_no_op(engine: Engine):
    migrate(engine)
    migrate(engine)
