"""The model writes about a session: its title and problem domain after the first exchange, and resolve or
escalate drafts, streamed to the API over pg_notify so that no text enters workflow history."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

import anthropic
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.conversation import StoredMessage, to_model_messages
from activities.model.errors import to_application_error
from activities.model.events import BlockDelta, BlockStart, ModelProvider, ModelRequest, Usage
from activities.model.scripted import SCRIPTED_MODEL
from models.enums import AgentType
from models.names import DRAFT_HANDOFF, SUMMARIZE_SESSION
from models.pricing import cost_usd
from models.session_summary import (
    NOTICE_MAX_CHARS,
    TITLE_MAX_CHARS,
    DraftNotice,
    HandoffDraftInput,
    HandoffDraftResult,
    HandoffKind,
    ProblemDomain,
    SessionSummaryInput,
    SessionSummaryResult,
    draft_channel,
)
from models.settings import Settings
from models.tables import UsageEvent

_log = logging.getLogger("turnflow.session_summary")

SUMMARY_MAX_TOKENS = 200
DRAFT_MAX_TOKENS = 2048
EXCERPT_CHARS = 4000
TOOL_TEXT_CHARS = 1000
# A long session keeps its opening (the problem) and its end (what was found), and drops the middle.
TRANSCRIPT_HEAD_CHARS = 10_000
TRANSCRIPT_TAIL_CHARS = 50_000
_DOMAINS = {d.value for d in ProblemDomain}

SUMMARY_SYSTEM = (
    "You name sessions for a list of sessions. Reply with only a JSON object "
    '{"title": "...", "problem_domain": "..."}. The title names the problem or topic in at most '
    f"{TITLE_MAX_CHARS} characters, in the language of the first message, without quotes or a final period. "
    f"The problem_domain is exactly one of: {', '.join(d.value for d in ProblemDomain)}."
)
DRAFT_SYSTEM = {
    HandoffKind.RESOLVE: (
        "You write the resolution record of a support session for the engineer closing it. Use only facts from "
        'the conversation and write "unknown" where it says nothing. Reply in plain text with exactly these '
        "sections:\nResolution summary: <two or three sentences>\nResolving action: <what fixed it>\n"
        "Root cause: <why it happened>\nSteps taken:\n- <one line per step>\nRecommendations:\n- <one line each>"
    ),
    HandoffKind.ESCALATE: (
        "You write the escalation package of a support session for the engineer who receives it. Use only facts "
        'from the conversation and write "unknown" where it says nothing. Reply in plain text with exactly these '
        "sections:\nReason: <why it needs escalating>\nSummary: <two or three sentences>\n"
        "Environment: <systems, versions, locations>\nReproduction steps:\n- <one line each>\n"
        "Attempted fixes:\n- <one line each>\nEvidence:\n- <one line each>\nUrgency: <low, normal, high or critical>"
    ),
}
_DRAFT_ASK = {HandoffKind.RESOLVE: "the resolution record", HandoffKind.ESCALATE: "the escalation package"}

_SESSION = text("SELECT account_id, title, problem_domain FROM sessions WHERE id = :session_id")
_MODEL = text(
    """
    SELECT model_id FROM chats WHERE session_id = :session_id AND model_id IS NOT NULL
    ORDER BY updated_at DESC LIMIT 1
    """
)
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
_CONVERSATION = text(
    """
    SELECT m.role, m.parts FROM chat_messages m JOIN chats c ON c.id = m.chat_id
    WHERE c.session_id = :session_id AND jsonb_array_length(m.parts) > 0
    ORDER BY c.created_at, c.id, m.seq
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
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


@dataclass(frozen=True)
class _Summary:
    title: str | None
    domain: ProblemDomain


class SessionSummaryActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings, provider_for: Callable[[str], ModelProvider]) -> None:
        self._engine = engine
        self._settings = settings
        self._provider_for = provider_for

    @activity.defn(name=SUMMARIZE_SESSION)
    async def summarize_session(self, params: SessionSummaryInput) -> SessionSummaryResult:
        """Idempotent: a title or domain already set, by the user or an earlier run, is never replaced."""
        async with self._engine.connect() as conn:
            session = (await conn.execute(_SESSION, {"session_id": params.session_id})).one_or_none()
            if session is None or (session.title is not None and session.problem_domain is not None):
                return SessionSummaryResult(False, session.problem_domain if session is not None else None)
            exchange = (await conn.execute(_FIRST_EXCHANGE, {"session_id": params.session_id})).one_or_none()
            model = await self._model_of(conn, params.session_id)
        question = _plain_text(exchange.question) if exchange is not None else ""
        if exchange is None or not question:
            return SessionSummaryResult(False, session.problem_domain)  # nothing said yet to name it by
        summary = _Summary(_clip_title(question), ProblemDomain.OTHER)
        if model != SCRIPTED_MODEL:
            info = activity.info()
            request = ModelRequest(
                model=model,
                system=SUMMARY_SYSTEM,
                messages=[{"role": "user", "content": _exchange_prompt(question, _plain_text(exchange.answer))}],
                max_tokens=SUMMARY_MAX_TOKENS,
            )
            key = f"session-summary:{info.workflow_run_id}:attempt:{info.attempt}"
            pieces = self._stream_text(request, key, session.account_id, params.session_id)
            reply = "".join([piece async for piece in pieces])
            parsed = _parse_summary(reply)
            if parsed is None:
                _log.warning(
                    "session %s: model %s named no title in %r; using the first message",
                    params.session_id,
                    model,
                    reply[:200],
                )
            summary = parsed or summary
        values = {"session_id": params.session_id, "title": summary.title, "domain": summary.domain.value}
        async with self._engine.begin() as conn:
            saved = (await conn.execute(_SAVE_SUMMARY, values)).one()
        return SessionSummaryResult(session.title is None and saved.title is not None, saved.problem_domain)

    @activity.defn(name=DRAFT_HANDOFF)
    async def draft_handoff(self, params: HandoffDraftInput) -> HandoffDraftResult:
        """Sends the draft piece by piece on its channel; a retry starts over under its own attempt number."""
        attempt = activity.info().attempt
        async with self._engine.connect() as conn:
            session = (await conn.execute(_SESSION, {"session_id": params.session_id})).one_or_none()
            if session is None:
                raise ApplicationError(f"no session {params.session_id}", type="SessionNotFound", non_retryable=True)
            rows = (await conn.execute(_CONVERSATION, {"session_id": params.session_id})).all()
            model = await self._model_of(conn, params.session_id)
        lines = _transcript_lines(to_model_messages([StoredMessage(r.role, r.parts) for r in rows]))
        if model == SCRIPTED_MODEL:
            pieces = self._scripted(_scripted_draft(params.kind, lines))
        else:
            request = ModelRequest(
                model=model,
                system=DRAFT_SYSTEM[params.kind],
                messages=[{"role": "user", "content": _draft_prompt(params.kind, lines)}],
                max_tokens=DRAFT_MAX_TOKENS,
            )
            key = f"handoff-draft:{params.draft_id}:attempt:{attempt}"
            pieces = self._stream_text(request, key, session.account_id, params.session_id)
        async with self._engine.connect() as conn:
            notices = _DraftNotices(conn, draft_channel(params.draft_id), attempt)
            async with contextlib.aclosing(pieces):
                async for piece in pieces:
                    await notices.send(piece)
                    activity.heartbeat()
            await notices.end()
        return HandoffDraftResult(characters=notices.length)

    async def _model_of(self, conn: AsyncConnection, session_id: str) -> str:
        """The model of the session's most recently used chat, so a session offline stays offline."""
        model = (await conn.execute(_MODEL, {"session_id": session_id})).scalar_one_or_none()
        return str(model) if model else self._settings.default_model()

    async def _stream_text(
        self, request: ModelRequest, usage_key: str, account_id: uuid.UUID, session_id: str
    ) -> AsyncGenerator[str, None]:
        """The text of one model call, piece by piece; what it cost is recorded however it ends."""
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
                await self._record_usage(usage_key, account_id, session_id, request.model, usage)

    async def _record_usage(self, key: str, account_id: uuid.UUID, session_id: str, model: str, usage: Usage) -> None:
        """The dedupe key names the call attempt, so a retried write lands once."""
        tokens = (usage.input_tokens, usage.output_tokens, usage.cache_write_tokens, usage.cache_read_tokens)
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(UsageEvent)
                .values(
                    dedupe_key=key,
                    session_id=session_id,
                    account_id=account_id,
                    model=model,
                    agent_type=AgentType.MAIN.value,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cache_write_tokens=usage.cache_write_tokens,
                    cache_read_tokens=usage.cache_read_tokens,
                    cost_usd=cost_usd(model, *tokens),
                )
                .on_conflict_do_nothing(index_elements=[UsageEvent.dedupe_key])
            )

    async def _scripted(self, draft: str) -> AsyncGenerator[str, None]:
        """The offline model's draft, word by word at the scripted pace, so `make dev` shows it streaming."""
        delay_s = self._settings.scripted_delay_ms / 1000
        for n, word in enumerate(re.findall(r"\S+\s*|\s+", draft)):
            if n and delay_s:
                await asyncio.sleep(delay_s)
            yield word


class _DraftNotices:
    """A draft's pieces in order on one connection; each commits at once, which is when PostgreSQL sends it."""

    def __init__(self, conn: AsyncConnection, channel: str, attempt: int) -> None:
        self._conn = conn
        self._channel = channel
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
        await self._conn.execute(_NOTIFY, {"channel": self._channel, "payload": notice.encode()})
        await self._conn.commit()


def _plain_text(parts: list[dict[str, Any]] | None) -> str:
    return "\n".join(p["text"] for p in parts or [] if p.get("type") == "text" and p.get("text")).strip()


def _clip(value: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when one is near."""
    flat = " ".join(value.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


def _clip_title(value: str) -> str | None:
    return _clip(value.strip().strip("\"'").strip(), TITLE_MAX_CHARS) or None


def _exchange_prompt(question: str, answer: str) -> str:
    return (
        f"<first_message>\n{question[:EXCERPT_CHARS]}\n</first_message>\n"
        f"<first_answer>\n{answer[:EXCERPT_CHARS]}\n</first_answer>"
    )


def _parse_summary(reply: str) -> _Summary | None:
    """The first JSON object in the reply that names a title; models sometimes wrap it in prose or a fence."""
    decoder = json.JSONDecoder()
    for brace in re.finditer(r"\{", reply):
        try:
            value, _ = decoder.raw_decode(reply, brace.start())
        except json.JSONDecodeError:
            continue
        title = _clip_title(str(value.get("title") or "")) if isinstance(value, dict) else None
        if title:
            domain = str(value.get("problem_domain") or "").strip().lower()
            return _Summary(title, ProblemDomain(domain) if domain in _DOMAINS else ProblemDomain.OTHER)
    return None


def _transcript_lines(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(speaker, text) per content block, tool calls and results included but clipped."""
    lines: list[tuple[str, str]] = []
    for message in messages:
        for block in message["content"]:
            if block["type"] == "text":
                lines.append(("User" if message["role"] == "user" else "Assistant", block["text"]))
            elif block["type"] == "tool_use":
                call = f"{block['name']} {json.dumps(block['input'])}"
                lines.append(("Tool call", call[:TOOL_TEXT_CHARS]))
            elif block["type"] == "tool_result":
                content = block.get("content", "")
                result = content if isinstance(content, str) else json.dumps(content)
                lines.append(("Tool error" if block.get("is_error") else "Tool result", result[:TOOL_TEXT_CHARS]))
    return lines


def _draft_prompt(kind: HandoffKind, lines: list[tuple[str, str]]) -> str:
    transcript = "\n\n".join(f"{speaker}: {said}" for speaker, said in lines)
    if len(transcript) > TRANSCRIPT_HEAD_CHARS + TRANSCRIPT_TAIL_CHARS:
        dropped = len(transcript) - TRANSCRIPT_HEAD_CHARS - TRANSCRIPT_TAIL_CHARS
        transcript = (
            f"{transcript[:TRANSCRIPT_HEAD_CHARS]}\n\n[… {dropped} characters left out …]\n\n"
            f"{transcript[-TRANSCRIPT_TAIL_CHARS:]}"
        )
    return f"<conversation>\n{transcript}\n</conversation>\n\nWrite {_DRAFT_ASK[kind]} of this session now."


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {_clip(item, 200)}" for item in items[:10]) or "- unknown"


def _scripted_draft(kind: HandoffKind, lines: list[tuple[str, str]]) -> str:
    """A deterministic draft from the conversation itself, in the sections the model would write."""
    said = [text for speaker, text in lines if speaker == "User"]
    answered = [text for speaker, text in lines if speaker == "Assistant"]
    tools = [text for speaker, text in lines if speaker == "Tool call"]
    problem = _clip(said[0], 300) if said else "unknown"
    last_answer = _clip(answered[-1], 300) if answered else "unknown"
    if kind == HandoffKind.RESOLVE:
        return (
            f"Resolution summary: {problem}\nResolving action: {last_answer}\n"
            "Root cause: unknown (drafted offline by the scripted model)\n"
            f"Steps taken:\n{_bullets(tools or answered)}\n"
            "Recommendations:\n- Confirm with the user that the problem is gone."
        )
    return (
        f"Reason: still open after {len(said)} user messages (drafted offline by the scripted model)\n"
        f"Summary: {problem}\nEnvironment: unknown\nReproduction steps:\n{_bullets(said)}\n"
        f"Attempted fixes:\n{_bullets(tools)}\nEvidence:\n- {last_answer}\nUrgency: normal"
    )
