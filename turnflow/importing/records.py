"""What every source shape reads into: turnflow's sessions, chats and messages as the import will write them, and
the source rows it cannot import, each with its reason."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from turnflow.importing.json_text import encode
from turnflow.importing.legacy_messages import ConvertedMessage, MalformedMessage

# One message's parts as stored; a larger one is reported, not imported (PostgreSQL would take up to 255 MB).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# JSON's escape of NUL (not an escaped backslash before "u0000"): PostgreSQL text cannot hold it.
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True)
class Skip:
    """A source row left out, listed in the report by its source id so it can be found and fixed."""

    reason: str
    source: str
    source_id: str
    detail: str = ""
    chat_id: str | None = None
    # A whole chat (with its messages) rather than one message or row.
    whole_chat: bool = False


@dataclass(frozen=True)
class SourceAccount:
    id: str
    name: str | None
    deleted: bool = False


@dataclass(frozen=True)
class ImportedMessage:
    """Parts and metadata as JSON text, serialised once, as the writer sends them."""

    id: str
    role: str
    parts: str
    created_at: datetime
    metadata: str | None = None


@dataclass(frozen=True)
class ImportedSession:
    id: uuid.UUID
    session_type: str
    title: str | None
    subject_id: str | None
    created_at: datetime
    last_activity_at: datetime
    external_refs: dict[str, str] = field(default_factory=dict)
    # None when the source has no status: a new session starts active and a re-run leaves turnflow's status alone.
    status: str | None = None


@dataclass
class SourceChat:
    """One chat with its session and its importable messages in source order."""

    id: str
    source_account_id: str
    session: ImportedSession
    title: str | None
    created_at: datetime
    updated_at: datetime
    messages: list[ImportedMessage]
    # This chat's messages that cannot be imported; the rest still are.
    skipped: list[Skip] = field(default_factory=list)

    def take(
        self,
        source: str,
        message_id: str,
        created_at: datetime,
        convert: Callable[[], ConvertedMessage],
        source_ref: str | None = None,
    ) -> None:
        """Adds the message `convert` reads, or records why it cannot be imported (under `source_ref` when the
        source row had no id of its own)."""
        ref = source_ref or message_id
        try:
            message = convert()
            parts = encode(message.parts)
            metadata = encode(message.metadata) if message.metadata is not None else None
        except MalformedMessage as exc:
            self.skipped.append(Skip("malformed-content", source, ref, str(exc), self.id))
            return
        if _holds_nul(parts) or (metadata is not None and _holds_nul(metadata)):
            self.skipped.append(Skip("malformed-content", source, ref, "text holds a NUL character", self.id))
        elif len(parts.encode()) > MAX_MESSAGE_BYTES:
            self.skipped.append(Skip("too-large", source, ref, f"{len(parts.encode())} bytes", self.id))
        else:
            self.messages.append(ImportedMessage(message_id, message.role, parts, created_at, metadata))

    @property
    def source_message_count(self) -> int:
        return len(self.messages) + len(self.skipped)

    @property
    def last_activity(self) -> datetime:
        return max([self.updated_at, *(m.created_at for m in self.messages[-1:])])


@dataclass
class SourceBatch:
    """Chats read together (and written together, in one transaction), plus rows skipped while reading them."""

    chats: list[SourceChat] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    # Rows imported with a value changed to one turnflow accepts (e.g. an unknown status), listed like skips.
    adjusted: list[Skip] = field(default_factory=list)
    # Accounts a source names inline (a JSON Lines session), for sources without an accounts table.
    accounts: list[SourceAccount] = field(default_factory=list)

    @property
    def chats_read(self) -> int:
        """Chats read, including those that could not be read whole (skipped as one)."""
        return len(self.chats) + sum(1 for s in self.skipped if s.whole_chat)


def _holds_nul(text: str) -> bool:
    return "\\u0000" in text and _NUL.search(text) is not None
