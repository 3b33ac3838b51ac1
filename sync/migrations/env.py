"""Alembic environment: migrate over the connection fieldkit.sync.db.migrate() opened."""

from __future__ import annotations

from alembic import context
from fieldkit.sync.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via fieldkit.sync.db.migrate
    raise SystemExit("run migrations through `fieldkit server` or fieldkit.sync.db.migrate()")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
