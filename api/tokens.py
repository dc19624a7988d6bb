"""POST /browser-tokens: a product's backend exchanges its API key for a token its browser code may hold."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from api.browser_tokens import BrowserClaims, mint_token
from api.dependencies import DB, CurrentCaller
from api.problems import ProblemError, not_found, problem_responses
from models.tables import Chat, Session
from models.token_schemas import BrowserToken, BrowserTokenRequest

router = APIRouter(tags=["browser tokens"])


@router.post(
    "/browser-tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=BrowserToken,
    responses=problem_responses(400, 401, 403, 404, 413, 422, 503),
    summary="Mint a short-lived token for one end user's browser (API key only)",
)
async def mint_browser_token(
    body: BrowserTokenRequest, request: Request, db: DB, caller: CurrentCaller
) -> BrowserToken:
    """The token sees and creates only its subject's sessions and chats; revoking the key revokes its tokens."""
    if caller.is_browser:
        raise ProblemError(
            403, "api-key-required", "only an API key can mint browser tokens; call this from your backend"
        )
    secret: bytes | None = request.app.state.browser_token_secret
    if secret is None:
        raise ProblemError(503, "browser-tokens-disabled", "set TURNFLOW_BROWSER_TOKEN_SECRET to enable browser tokens")
    if body.session_id is not None:
        owner = await db.scalar(
            select(Session.owner_subject).where(Session.id == body.session_id, Session.account_id == caller.account_id)
        )
        if owner != body.subject:
            raise not_found("session", body.session_id, "sessionId")
    if body.chat_id is not None:
        owner = await db.scalar(
            select(Session.owner_subject)
            .join(Chat, Chat.session_id == Session.id)
            .where(Chat.id == body.chat_id, Chat.account_id == caller.account_id)
        )
        if owner != body.subject:
            raise not_found("chat", body.chat_id, "chatId")
    expires_at = int(time.time()) + body.ttl_seconds
    claims = BrowserClaims(
        api_key_id=caller.api_key_id,
        account_id=caller.account_id,
        subject=body.subject,
        expires_at=expires_at,
        session_id=body.session_id,
        chat_id=body.chat_id,
    )
    token = mint_token(secret, claims)
    return BrowserToken(token=token, expires_at=datetime.fromtimestamp(expires_at, UTC))
