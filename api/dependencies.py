"""Explicit request dependencies: the database session and the authenticated caller."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.problems import ProblemError
from models.keys import hash_key
from models.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An API key from `turnflow keys create --account NAME`.")

# last_used_at is refreshed at most every few minutes so that reads do not turn into writes.
_FIND_KEY = text(
    """
    WITH hit AS (
        SELECT id, account_id, last_used_at FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL
    ), touched AS (
        UPDATE api_keys k SET last_used_at = now() FROM hit
        WHERE k.id = hit.id AND (hit.last_used_at IS NULL OR hit.last_used_at < now() - interval '5 minutes')
    )
    SELECT id, account_id FROM hit
    """
)


@dataclass(frozen=True)
class Caller:
    account_id: uuid.UUID
    api_key_id: uuid.UUID
    reader_id: str


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as db:
        yield db


# Closed when the route function returns, before its response is sent: a stream holds no pooled connection
# and no transaction (an open one would keep row locks for as long as a viewer watches).
DB = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def get_caller(
    db: DB,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_reader_id: Annotated[
        str | None,
        Header(
            max_length=128,
            description="Who is reading, for unread counts and read cursors (e.g. your end user's id). "
            "Default: the API key.",
        ),
    ] = None,
) -> Caller:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(401, "unauthorized", "send Authorization: Bearer <api key>", headers=challenge)
    row = (await db.execute(_FIND_KEY, {"h": hash_key(credentials.credentials)})).one_or_none()
    if row is None:
        raise ProblemError(401, "invalid-api-key", "the API key is unknown or revoked", headers=challenge)
    await db.commit()
    return Caller(account_id=row.account_id, api_key_id=row.id, reader_id=x_reader_id or f"key:{row.id}")


CurrentCaller = Annotated[Caller, Depends(get_caller)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
