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

from api.browser_tokens import TOKEN_PREFIX, read_token
from api.problems import ProblemError
from models.keys import hash_key
from models.settings import Settings

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`turnflow keys create --account NAME`), or a browser token from POST /browser-tokens.",
)

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
    # Set for a browser token: the end user it speaks for, and the one session or chat it may be limited to.
    subject: str | None = None
    session_scope: uuid.UUID | None = None
    chat_scope: str | None = None

    @property
    def is_browser(self) -> bool:
        return self.subject is not None


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


def _browser_caller(request: Request, token: str) -> Caller:
    """Checked by signature, expiry and the in-memory revocation list: no database read."""
    secret: bytes | None = request.app.state.browser_token_secret
    challenge = {"WWW-Authenticate": "Bearer"}
    if secret is None:
        raise ProblemError(401, "invalid-token", "browser tokens are not enabled on this server", headers=challenge)
    claims = read_token(secret, token)
    if claims is None or claims.api_key_id in request.app.state.revoked_keys:
        raise ProblemError(401, "invalid-token", "the browser token is invalid, expired or revoked", headers=challenge)
    return Caller(
        account_id=claims.account_id,
        api_key_id=claims.api_key_id,
        reader_id=f"sub:{claims.subject}",
        subject=claims.subject,
        session_scope=claims.session_id,
        chat_scope=claims.chat_id,
    )


async def get_caller(
    request: Request,
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
    if credentials.credentials.startswith(TOKEN_PREFIX):
        return _browser_caller(request, credentials.credentials)
    row = (await db.execute(_FIND_KEY, {"h": hash_key(credentials.credentials)})).one_or_none()
    if row is None:
        raise ProblemError(401, "invalid-api-key", "the API key is unknown or revoked", headers=challenge)
    await db.commit()
    return Caller(account_id=row.account_id, api_key_id=row.id, reader_id=x_reader_id or f"key:{row.id}")


CurrentCaller = Annotated[Caller, Depends(get_caller)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
