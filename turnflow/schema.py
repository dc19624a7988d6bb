"""Schema upgrades that report what they changed, for `turnflow migrate` and `turnflow dev`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


@dataclass(frozen=True)
class Upgrade:
    database: str
    before: str | None
    after: str | None

    def describe(self) -> str:
        if self.before == self.after:
            return f"{self.database}: schema already at revision {self.after}"
        return f"{self.database}: schema upgraded from {self.before or 'nothing'} to revision {self.after}"


async def current_revision(database_url: str) -> str | None:
    """The Alembic revision the database is at; None when it was never migrated."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            if not await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL")):
                return None
            revision: str | None = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            return revision
    finally:
        await engine.dispose()


async def upgrade_to_head(database_url: str) -> Upgrade:
    # Imported here: Alembic takes a good part of a second to load, which commands that never migrate should not pay.
    from turnflow.migrate import upgrade_async  # noqa: PLC0415

    before = await current_revision(database_url)
    await upgrade_async(database_url)
    after = await current_revision(database_url)
    return Upgrade(database=display_url(database_url), before=before, after=after)


def display_url(database_url: str) -> str:
    """The URL without its password, and readable (a socket directory stays a path)."""
    return unquote(make_url(database_url).render_as_string(hide_password=True))
