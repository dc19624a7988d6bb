"""The model drafts a session's resolve or escalate handoff from its conversation, streamed to the API over
pg_notify so that no text enters workflow history."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.conversation import StoredMessage, to_model_messages
from activities.model.events import ModelProvider, ModelRequest
from activities.model_text import ModelText
from activities.session_prompts import DRAFT_SYSTEM, draft_prompt, transcript_lines
from models.names import DRAFT_HANDOFF, HANDOFF_DRAFTS_CHANNEL
from models.session_summary import NOTICE_MAX_CHARS, DraftNotice, HandoffDraftInput, HandoffDraftResult
from models.settings import Settings

DRAFT_MAX_TOKENS = 2048

_ACCOUNT = text("SELECT account_id FROM sessions WHERE id = :session_id")
_CONVERSATION = text(
    """
    SELECT m.role, m.parts FROM chat_messages m JOIN chats c ON c.id = m.chat_id
    WHERE c.session_id = :session_id AND jsonb_array_length(m.parts) > 0
    ORDER BY c.created_at, c.id, m.seq
    """
)
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class HandoffDraftActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings, provider_for: Callable[[str], ModelProvider]) -> None:
        self._engine = engine
        self._model_text = ModelText(engine, settings, provider_for)

    @activity.defn(name=DRAFT_HANDOFF)
    async def draft_handoff(self, params: HandoffDraftInput) -> HandoffDraftResult:
        """Sends the draft piece by piece on its channel; a retry starts over under its own attempt number."""
        attempt = activity.info().attempt
        async with self._engine.connect() as conn:
            account_id = (await conn.execute(_ACCOUNT, {"session_id": params.session_id})).scalar_one_or_none()
            if account_id is None:
                raise ApplicationError(f"no session {params.session_id}", type="SessionNotFound", non_retryable=True)
            rows = (await conn.execute(_CONVERSATION, {"session_id": params.session_id})).all()
            model = await self._model_text.model_of(conn, params.session_id)
        lines = transcript_lines(to_model_messages([StoredMessage(r.role, r.parts) for r in rows]))
        request = ModelRequest(
            model=model,
            system=DRAFT_SYSTEM[params.kind],
            messages=[{"role": "user", "content": draft_prompt(params.kind, lines)}],
            max_tokens=DRAFT_MAX_TOKENS,
        )
        key = f"handoff-draft:{params.draft_id}:attempt:{attempt}"
        pieces = self._model_text.stream(request, key, account_id, params.session_id)
        async with self._engine.connect() as conn:
            notices = _DraftNotices(conn, params.draft_id, attempt)
            async with contextlib.aclosing(pieces):
                async for piece in pieces:
                    await notices.send(piece)
                    activity.heartbeat()
            await notices.end()
        return HandoffDraftResult(characters=notices.length)


class _DraftNotices:
    """A draft's pieces in order on one connection; each commits at once, which is when PostgreSQL sends it."""

    def __init__(self, conn: AsyncConnection, draft_id: str, attempt: int) -> None:
        self._conn = conn
        self._draft_id = draft_id
        self._attempt = attempt
        self.length = 0

    async def send(self, piece: str) -> None:
        for start in range(0, len(piece), NOTICE_MAX_CHARS):
            part = piece[start : start + NOTICE_MAX_CHARS]
            await self._notify(DraftNotice(self._attempt, self.length, part))
            self.length += len(part)

    async def end(self) -> None:
        await self._notify(DraftNotice(self._attempt, self.length, end=True))

    async def _notify(self, notice: DraftNotice) -> None:
        await self._conn.execute(_NOTIFY, {"channel": HANDOFF_DRAFTS_CHANNEL, "payload": notice.encode(self._draft_id)})
        await self._conn.commit()
