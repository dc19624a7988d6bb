"""The stream log's one write path: seqs allocated under the turn's row lock, rows inserted, viewers notified."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.names import TURN_EVENTS_CHANNEL
from turnlog.chunks import Chunk

# One statement: lock the turn row while allocating seqs, insert, notify. The lock is held until commit, so a
# concurrent writer of the same turn commits after this one and readers never see seq N+1 before seq N.
_APPEND = text(
    """
    WITH alloc AS (
        UPDATE turns SET last_event_seq = last_event_seq + :n WHERE id = :turn_id RETURNING last_event_seq
    ), rows AS (
        INSERT INTO turn_events (turn_id, seq, payload)
        SELECT :turn_id, alloc.last_event_seq - :n + e.ordinality, e.payload
        FROM alloc, jsonb_array_elements(CAST(:payloads AS jsonb)) WITH ORDINALITY AS e(payload, ordinality)
        RETURNING seq
    )
    SELECT pg_notify(:channel, CAST(:turn_id AS text) || ':' || CAST(max(seq) AS text)) AS notified, max(seq) AS last
    FROM rows
    """
)


async def append_chunks(conn: AsyncConnection, turn_id: uuid.UUID | str, chunks: Sequence[Chunk]) -> int:
    """Appends within the caller's transaction; the notification goes out when it commits. Returns the last seq."""
    params = {
        "turn_id": str(turn_id),
        "n": len(chunks),
        "payloads": json.dumps(list(chunks)),
        "channel": TURN_EVENTS_CHANNEL,
    }
    row = (await conn.execute(_APPEND, params)).one()
    if row.last is None:
        raise LookupError(f"turn {turn_id} does not exist")
    return int(row.last)
