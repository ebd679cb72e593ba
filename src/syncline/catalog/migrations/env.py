"""Alembic environment: runs migrations on the connection the catalog hands over."""

from __future__ import annotations

from alembic import context

from syncline.catalog.tables import Base, declare_postgresql_options

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the catalog migrations run through syncline.catalog.migrate, which passes a "
        "connection; open the catalog instead of calling alembic directly"
    )

if connection.dialect.name == "postgresql":
    declare_postgresql_options()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
