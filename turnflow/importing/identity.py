"""The ids imported rows get. They are part of the import's contract: a re-run, by any version, must find the rows an
earlier run wrote, so these never change."""

from __future__ import annotations

import uuid

# Fixed forever: every derived id below depends on it.
IMPORT_NAMESPACE = uuid.UUID("698369f2-78d9-4ebc-b3eb-0d3b03e0bc48")


def derived_session_id(source_id: str) -> uuid.UUID:
    """The session of a source chat that had no session of its own (a room, an assistant chat, a conversation)."""
    return uuid.uuid5(IMPORT_NAMESPACE, source_id)


def indexed_message_id(chat_id: str, index: int) -> str:
    """A message that had no id in the source: uuidv5 in the chat's own namespace (a UUID chat id) of its index."""
    try:
        namespace = uuid.UUID(chat_id)
    except ValueError:
        namespace = derived_session_id(chat_id)
    return str(uuid.uuid5(namespace, str(index)))
