"""The text of one model call, for the activities that write about a session: the model the session uses, and its
reply streamed piece by piece with its usage recorded however the call ends."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, Callable

import anthropic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activities.model.errors import to_application_error
from activities.model.events import BlockDelta, BlockStart, ModelProvider, ModelRequest, Usage
from activities.usage_ledger import UsageRecord, record_usage
from models.settings import Settings

_MODEL = text(
    """
    SELECT model_id FROM chats WHERE session_id = :session_id AND model_id IS NOT NULL
    ORDER BY updated_at DESC LIMIT 1
    """
)


class ModelText:
    def __init__(self, engine: AsyncEngine, settings: Settings, provider_for: Callable[[str], ModelProvider]) -> None:
        self._engine = engine
        self._settings = settings
        self._provider_for = provider_for

    async def model_of(self, conn: AsyncConnection, session_id: str) -> str:
        """The model of the session's most recently used chat, so a session offline stays offline."""
        model = (await conn.execute(_MODEL, {"session_id": session_id})).scalar_one_or_none()
        return str(model) if model else self._settings.default_model()

    async def stream(
        self, request: ModelRequest, usage_key: str, account_id: uuid.UUID, session_id: str
    ) -> AsyncGenerator[str, None]:
        """The reply's text, piece by piece; `usage_key` names the call attempt, so a retry records its own."""
        usage: Usage | None = None
        text_blocks: set[int] = set()
        events = self._provider_for(request.model).stream(request)
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, Usage):
                        usage = event
                    elif isinstance(event, BlockStart) and event.kind == "text":
                        text_blocks.add(event.index)
                    elif isinstance(event, BlockDelta) and event.index in text_blocks:
                        yield event.text
        except anthropic.AnthropicError as exc:
            raise to_application_error(exc) from exc
        finally:
            if usage is not None:
                record = UsageRecord(usage_key, account_id, uuid.UUID(session_id), request.model, usage)
                async with self._engine.begin() as conn:
                    await record_usage(conn, record)
