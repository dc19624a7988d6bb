"""After a batch is written, each chat is checked against its source: the number of imported messages and the
last one's id, read back from turnflow (not taken from what the writer believes it wrote)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from turnflow.importing.records import SourceChat

# Imported messages are those no turn wrote, plus source messages a turn has since taken over (a regenerated answer).
_IMPORTED = """
    WITH source AS (SELECT * FROM unnest($2::text[], $3::text[]) AS s(chat_id, id)),
    imported AS (
        SELECT m.chat_id, m.id, m.seq FROM chat_messages m WHERE m.chat_id = ANY($1::text[]) AND m.turn_id IS NULL
        UNION
        SELECT m.chat_id, m.id, m.seq FROM chat_messages m JOIN source s ON s.chat_id = m.chat_id AND s.id = m.id
    )
    SELECT c.id, count(i.id) AS messages,
        (array_agg(i.id ORDER BY i.seq DESC) FILTER (WHERE i.id IS NOT NULL))[1] AS last_id
    FROM chats c LEFT JOIN imported i ON i.chat_id = c.id WHERE c.id = ANY($1::text[]) GROUP BY c.id
"""


# A chat's imported messages in turnflow: how many, and the id of the last one by seq.
ImportedState = tuple[int, str | None]


@dataclass(frozen=True)
class Mismatch:
    chat_id: str
    source_messages: int
    turnflow_messages: int | None
    source_last_id: str | None
    turnflow_last_id: str | None

    def describe(self) -> str:
        if self.turnflow_messages is None:
            return f"chat {self.chat_id}: missing in turnflow"
        return (
            f"chat {self.chat_id}: source {self.source_messages} messages ending {self.source_last_id}, "
            f"turnflow {self.turnflow_messages} ending {self.turnflow_last_id}"
        )


async def reconcile(conn: asyncpg.Connection, chats: list[SourceChat]) -> list[Mismatch]:
    """The chats whose imported messages in turnflow differ in count or last id from the source's importable ones."""
    if not chats:
        return []
    pairs = [(c.id, m.id) for c in chats for m in c.messages]
    rows = await conn.fetch(_IMPORTED, [c.id for c in chats], [p[0] for p in pairs], [p[1] for p in pairs])
    return compare(chats, {r["id"]: (int(r["messages"]), r["last_id"]) for r in rows})


def compare(chats: list[SourceChat], found: dict[str, ImportedState]) -> list[Mismatch]:
    """The source's importable messages against what turnflow holds; a chat turnflow lacks is a mismatch too."""
    mismatches = []
    for chat in chats:
        expected = (len(chat.messages), chat.messages[-1].id if chat.messages else None)
        actual = found.get(chat.id)
        if actual != expected:
            mismatches.append(
                Mismatch(
                    chat.id, expected[0], actual[0] if actual else None, expected[1], actual[1] if actual else None
                )
            )
    return mismatches
