"""The interchange format: a JSON Lines file with one session per line, its chats and their messages. Messages are
UIMessages (`parts`) or `{role, content}` text; the format is documented in the README ("Bringing existing chats
in"). Ids are kept; a session without one gets uuidv5 of its first chat's id, a message without one uuidv5(chat id,
index)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from models.enums import SessionStatus, SessionType
from turnflow.importing.identity import derived_session_id, indexed_message_id
from turnflow.importing.json_text import encode
from turnflow.importing.legacy_messages import MalformedMessage, convert_message
from turnflow.importing.records import ImportedSession, Skip, SourceAccount, SourceBatch, SourceChat

MAX_ID_LENGTH = 128
_SESSION_TYPES = frozenset(t.value for t in SessionType)
_STATUSES = frozenset(s.value for s in SessionStatus)


class JsonlSource:
    name = "jsonl"
    chat_table = "jsonl"

    def __init__(self, path: Path, page_size: int) -> None:
        self._path, self._page = path, page_size

    async def accounts(self) -> dict[str, SourceAccount] | None:
        return None

    async def count(self) -> int:
        with self._path.open("rb") as lines:
            return sum(1 for line in lines if line.strip())

    async def batches(self) -> AsyncIterator[SourceBatch]:
        batch = SourceBatch()
        with self._path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                if not raw.strip():
                    continue
                try:
                    line = json.loads(raw.decode())
                    encode(line)  # refuses lone surrogates, which PostgreSQL cannot store
                    _read_line(line, batch)
                except (UnicodeDecodeError, json.JSONDecodeError, MalformedMessage) as exc:
                    batch.skipped.append(
                        Skip("malformed-content", "jsonl", f"line {number}", _reason(exc), whole_chat=True)
                    )
                if len(batch.chats) >= self._page:
                    yield batch
                    batch = SourceBatch()
        if batch.chats or batch.skipped:
            yield batch


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    return str(exc)


def _read_line(line: Any, batch: SourceBatch) -> None:
    """Adds the line's chats to `batch`; a line that is wrong as a whole raises, nothing of it is taken."""
    if not isinstance(line, dict):
        raise MalformedMessage("a line must be a JSON object (one session)")
    account_id = _text(line, "account_id", required=True)
    try:
        uuid.UUID(account_id)
    except ValueError:
        raise MalformedMessage(f"account_id {account_id!r} is not a UUID") from None
    chats = line.get("chats")
    if not isinstance(chats, list) or not all(isinstance(c, dict) for c in chats):
        raise MalformedMessage("`chats` must be a list of objects")
    created = _time(line, "created_at", None)
    session = ImportedSession(
        id=_session_id(line.get("id"), chats),
        session_type=_choice(line, "type", _SESSION_TYPES) or SessionType.CHAT.value,
        title=_text(line, "title"),
        subject_id=_text(line, "subject_id"),
        created_at=created,
        last_activity_at=_time(line, "updated_at", created),
        external_refs=_refs(line.get("external_refs")),
        status=_choice(line, "status", _STATUSES),
    )
    name = _text(line, "account_name")
    read = [_chat(chat, account_id, session) for chat in chats]
    if name:
        batch.accounts.append(SourceAccount(account_id, name))
    batch.chats.extend(read)


def _chat(raw: dict[str, Any], account_id: str, session: ImportedSession) -> SourceChat:
    chat_id = _text(raw, "id", required=True)
    if len(chat_id) > MAX_ID_LENGTH:
        raise MalformedMessage(f"chat id {chat_id[:20]!r}… is longer than {MAX_ID_LENGTH} characters")
    created = _time(raw, "created_at", session.created_at)
    messages = raw.get("messages", [])
    if not isinstance(messages, list):
        raise MalformedMessage(f"chat {chat_id}: `messages` must be a list")
    chat = SourceChat(
        id=chat_id,
        source_account_id=account_id,
        session=session,
        title=_text(raw, "title"),
        created_at=created,
        updated_at=_time(raw, "updated_at", created),
        messages=[],
    )
    for index, message in enumerate(messages):
        given = message.get("id") if isinstance(message, dict) else None
        message_id = given if isinstance(given, str) and 0 < len(given) <= MAX_ID_LENGTH else None
        at = _time(message, "created_at", created) if isinstance(message, dict) else created
        chat.take(
            "jsonl",
            message_id or indexed_message_id(chat_id, index),
            at,
            partial(convert_message, message),
            source_ref=f"chat {chat_id} message {given if message_id else index}",
        )
    return chat


def _session_id(given: Any, chats: list[dict[str, Any]]) -> uuid.UUID:
    if given is None:
        if not chats or not isinstance(chats[0].get("id"), str):
            raise MalformedMessage("a session without an id needs at least one chat with an id")
        return derived_session_id(chats[0]["id"])
    if not isinstance(given, str) or not given:
        raise MalformedMessage("`id` must be a string")
    try:
        return uuid.UUID(given)
    except ValueError:
        return derived_session_id(given)


def _text(raw: dict[str, Any], key: str, *, required: bool = False) -> Any:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"`{key}` must be a non-empty string")
    return value


def _choice(raw: dict[str, Any], key: str, allowed: frozenset[str]) -> str | None:
    value = raw.get(key)
    if value is not None and value not in allowed:
        raise MalformedMessage(f"`{key}` {value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def _time(raw: dict[str, Any], key: str, default: datetime | None) -> datetime:
    value = raw.get(key)
    if value is None:
        if default is None:
            raise MalformedMessage(f"`{key}` is required (an ISO 8601 time)")
        return default
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise MalformedMessage(f"`{key}` {value!r} is not an ISO 8601 time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _refs(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise MalformedMessage("`external_refs` must be an object of strings")
    return raw
