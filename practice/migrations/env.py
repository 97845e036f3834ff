"""Alembic environment: runs the migrations on the engine handed over by `practice.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import practice.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if engine is None:
        from practice.db import make_engine
        from practice.settings import Settings

        engine = make_engine(Settings().resolved_database_url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
