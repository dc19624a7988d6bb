"""The model names a session after its first exchange: a title for the list of sessions and a problem domain."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.model.events import ModelProvider, ModelRequest
from activities.model_text import ModelText
from activities.session_prompts import SUMMARY_SYSTEM, clip_title, exchange_prompt
from models.names import SUMMARIZE_SESSION
from models.session_summary import ProblemDomain, SessionSummaryInput, SessionSummaryResult
from models.settings import Settings

_log = logging.getLogger("turnflow.session_title")

SUMMARY_MAX_TOKENS = 200
_DOMAINS = {d.value for d in ProblemDomain}

_SESSION = text("SELECT account_id, title, problem_domain FROM sessions WHERE id = :session_id")
_FIRST_EXCHANGE = text(
    """
    WITH question AS (
        SELECT m.chat_id, m.seq, m.parts FROM chat_messages m JOIN chats c ON c.id = m.chat_id
        WHERE c.session_id = :session_id AND m.role = 'user' AND jsonb_array_length(m.parts) > 0
        ORDER BY m.created_at, m.seq LIMIT 1
    )
    SELECT q.parts AS question, (
        SELECT a.parts FROM chat_messages a
        WHERE a.chat_id = q.chat_id AND a.seq > q.seq AND a.role = 'assistant' AND a.status <> 'streaming'
        ORDER BY a.seq LIMIT 1
    ) AS answer
    FROM question q
    """
)
# COALESCE: a title or domain set meanwhile (by the user, or by a concurrent run) wins over this one.
_SAVE_SUMMARY = text(
    """
    UPDATE sessions SET title = COALESCE(title, :title), problem_domain = COALESCE(problem_domain, :domain),
        updated_at = now()
    WHERE id = :session_id
    RETURNING title, problem_domain
    """
)


@dataclass(frozen=True)
class _Summary:
    title: str | None
    domain: ProblemDomain


class SessionTitleActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings, provider_for: Callable[[str], ModelProvider]) -> None:
        self._engine = engine
        self._model_text = ModelText(engine, settings, provider_for)

    @activity.defn(name=SUMMARIZE_SESSION)
    async def summarize_session(self, params: SessionSummaryInput) -> SessionSummaryResult:
        """Idempotent: a title or domain already set, by the user or an earlier run, is never replaced."""
        async with self._engine.connect() as conn:
            session = (await conn.execute(_SESSION, {"session_id": params.session_id})).one_or_none()
            if session is None or (session.title is not None and session.problem_domain is not None):
                return SessionSummaryResult(False, session.problem_domain if session is not None else None)
            exchange = (await conn.execute(_FIRST_EXCHANGE, {"session_id": params.session_id})).one_or_none()
            model = await self._model_text.model_of(conn, params.session_id)
        question = _plain_text(exchange.question) if exchange is not None else ""
        if exchange is None or not question:
            return SessionSummaryResult(False, session.problem_domain)  # nothing said yet to name it by
        info = activity.info()
        request = ModelRequest(
            model=model,
            system=SUMMARY_SYSTEM,
            messages=[{"role": "user", "content": exchange_prompt(question, _plain_text(exchange.answer))}],
            max_tokens=SUMMARY_MAX_TOKENS,
        )
        key = f"session-summary:{info.workflow_run_id}:attempt:{info.attempt}"
        pieces = self._model_text.stream(request, key, session.account_id, params.session_id)
        reply = "".join([piece async for piece in pieces])
        summary = _parse_summary(reply)
        if summary is None:
            _log.warning(
                "session %s: model %s named no title in %r; using the first message",
                params.session_id,
                model,
                reply[:200],
            )
            summary = _Summary(clip_title(question), ProblemDomain.OTHER)
        values = {"session_id": params.session_id, "title": summary.title, "domain": summary.domain.value}
        async with self._engine.begin() as conn:
            saved = (await conn.execute(_SAVE_SUMMARY, values)).one()
        return SessionSummaryResult(session.title is None and saved.title is not None, saved.problem_domain)


def _plain_text(parts: list[dict[str, Any]] | None) -> str:
    return "\n".join(p["text"] for p in parts or [] if p.get("type") == "text" and p.get("text")).strip()


def _parse_summary(reply: str) -> _Summary | None:
    """The first JSON object in the reply that names a title; models sometimes wrap it in prose or a fence."""
    decoder = json.JSONDecoder()
    for brace in re.finditer(r"\{", reply):
        try:
            value, _ = decoder.raw_decode(reply, brace.start())
        except json.JSONDecodeError:
            continue
        title = clip_title(str(value.get("title") or "")) if isinstance(value, dict) else None
        if title:
            domain = str(value.get("problem_domain") or "").strip().lower()
            return _Summary(title, ProblemDomain(domain) if domain in _DOMAINS else ProblemDomain.OTHER)
    return None
