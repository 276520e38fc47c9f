"""Persistence: SQLAlchemy models, the engine, queries per resource, Alembic migrations.

The only package that imports SQLAlchemy or a database driver (docs/architecture.md,
"Layers"). The names services need to hold a session or catch a lost uniqueness race are
re-exported here, so that they need no `sqlalchemy` import of their own.
"""

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

__all__ = ["AsyncEngine", "AsyncSession", "DBAPIError", "IntegrityError", "async_sessionmaker"]
