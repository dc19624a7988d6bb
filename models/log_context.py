"""The ids a log line carries (turn, chat, session, account), bound where they become known (a request, an
activity) and read by the log formatter, so every line finds its turn again."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from contextvars import ContextVar

_IDS: ContextVar[Mapping[str, str] | None] = ContextVar("turnflow_log_ids", default=None)


def bind_log_ids(
    *,
    turn_id: str | uuid.UUID | None = None,
    chat_id: str | None = None,
    session_id: str | uuid.UUID | None = None,
    account_id: str | uuid.UUID | None = None,
) -> None:
    """Adds the known ids to the current task's context (a task's children inherit them, its parent does not)."""
    given = {"turnId": turn_id, "chatId": chat_id, "sessionId": session_id, "accountId": account_id}
    _IDS.set({**log_ids(), **{key: str(value) for key, value in given.items() if value is not None}})


def log_ids() -> Mapping[str, str]:
    return _IDS.get() or {}
