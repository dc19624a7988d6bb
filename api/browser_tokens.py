"""Browser tokens: short-lived, signed stand-ins for an API key, scoped to one end user (and optionally one session
or chat), so a chat frontend never holds the account's key. Checked by signature and expiry, with the key's
revocation known in memory: no database read per request."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from api import base64url

TOKEN_PREFIX = "tfb_"


@dataclass(frozen=True)
class BrowserClaims:
    api_key_id: uuid.UUID
    account_id: uuid.UUID
    subject: str
    expires_at: int
    session_id: uuid.UUID | None = None
    chat_id: str | None = None


def _signature(secret: bytes, body: str) -> str:
    return base64url.encode(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def mint_token(secret: bytes, claims: BrowserClaims) -> str:
    payload = {
        "k": str(claims.api_key_id),
        "a": str(claims.account_id),
        "sub": claims.subject,
        "exp": claims.expires_at,
        **({"sid": str(claims.session_id)} if claims.session_id else {}),
        **({"cid": claims.chat_id} if claims.chat_id else {}),
    }
    body = base64url.encode(json.dumps(payload, separators=(",", ":")).encode())
    return f"{TOKEN_PREFIX}{body}.{_signature(secret, body)}"


def read_token(secret: bytes, token: str, now: float | None = None) -> BrowserClaims | None:
    """The claims of a token this server signed and that has not expired; None otherwise."""
    body, _, signature = token.removeprefix(TOKEN_PREFIX).partition(".")
    if not hmac.compare_digest(signature, _signature(secret, body)):
        return None
    try:
        payload = json.loads(base64url.decode(body))
        claims = BrowserClaims(
            api_key_id=uuid.UUID(payload["k"]),
            account_id=uuid.UUID(payload["a"]),
            subject=str(payload["sub"]),
            expires_at=int(payload["exp"]),
            session_id=uuid.UUID(payload["sid"]) if "sid" in payload else None,
            chat_id=str(payload["cid"]) if "cid" in payload else None,
        )
    except (ValueError, KeyError, TypeError):
        return None
    return claims if claims.expires_at > (now if now is not None else time.time()) else None
