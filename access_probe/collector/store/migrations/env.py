"""Alembic environment, run from code only (`store.migrate`): the caller hands over an open
connection in `config.attributes["connection"]`, so no URL or ini file is needed."""

from __future__ import annotations

from alembic import context

from access_probe.collector.store.tables import include_name, metadata, postgres_metadata

connection = context.config.attributes["connection"]
# the day x service rollup (0006) exists on PostgreSQL only
described = [metadata, postgres_metadata] if connection.dialect.name == "postgresql" else metadata
context.configure(connection=connection, target_metadata=described, include_name=include_name,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
