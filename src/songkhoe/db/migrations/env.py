"""Alembic environment: the engine comes from the caller (songkhoe.db.migrate); the target is
every owner's tables (songkhoe.db.schema.all_tables)."""

from alembic import context

from songkhoe.db.schema import all_tables

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=all_tables())
    context.run_migrations()
