"""Alembic environment: the engine comes from the caller (songkhoe.db.migrate)."""

from alembic import context

from songkhoe.db.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    context.run_migrations()
