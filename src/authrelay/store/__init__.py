"""Persistence: SQLAlchemy models, the engine, queries per resource, Alembic migrations."""
