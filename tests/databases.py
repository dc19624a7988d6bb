"""Fresh PostgreSQL databases for tests, on embedded PostgreSQL or the server in TURNFLOW_DATABASE_URL."""

from __future__ import annotations

import uuid

import asyncpg
from sqlalchemy.engine import make_url

from models.database import asyncpg_dsn


async def create_database(server_url: str, prefix: str = "turnflow_test") -> str:
    """Creates an empty database on the server and returns its SQLAlchemy URL."""
    base = make_url(server_url).set(drivername="postgresql+asyncpg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(asyncpg_dsn(base.set(database="postgres").render_as_string(hide_password=False)))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, url: str) -> None:
    base = make_url(server_url).set(drivername="postgresql+asyncpg", database="postgres")
    conn = await asyncpg.connect(asyncpg_dsn(base.render_as_string(hide_password=False)))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()
