"""Database engine, tables and migrations (SQLAlchemy Core + Alembic)."""
