"""Request and response bodies of browser-token minting."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from models.chat_schemas import ChatIdText
from models.wire import WireModel

MAX_TTL_S = 86_400
DEFAULT_TTL_S = 3_600
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class BrowserTokenRequest(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"subject": "user-42", "ttlSeconds": 3600}, {"subject": "user-42", "chatId": "c1"}]
        }
    )

    subject: Subject = Field(description="Your end user's id: what the token may see and what it creates is theirs.")
    session_id: uuid.UUID | None = Field(None, description="Limit the token to this session (one of the subject's).")
    chat_id: ChatIdText | None = Field(None, description="Limit the token to this chat (one of the subject's).")
    ttl_seconds: int = Field(DEFAULT_TTL_S, ge=60, le=MAX_TTL_S, description="Lifetime, at most one day.")


class BrowserToken(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "tfb_eyJrIjoi….Qm9vbQ", "expiresAt": "2026-12-01T23:00:00Z"}]}
    )

    token: str = Field(description="Send as `Authorization: Bearer <token>` from the browser.")
    expires_at: datetime
