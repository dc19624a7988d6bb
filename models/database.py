"""Engine and session factory for PostgreSQL over asyncpg."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def create_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True, autocommit: bool = False) -> AsyncEngine:
    """An engine whose pool survives a PostgreSQL restart: stale connections are tested before use, unless the
    caller retries failed reads itself and would rather not pay a round trip per checkout. `autocommit`: for
    single-statement work, which then pays no BEGIN and COMMIT (or ROLLBACK) round trips."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )


def asyncpg_dsn(url: str) -> str:
    """The same database as a plain asyncpg DSN, for LISTEN connections and admin work."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
