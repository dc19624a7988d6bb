"""The stream log's one write path: seqs allocated under the turn's row lock, rows inserted, viewers notified, and
writes of a superseded model-step attempt refused."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models.names import TURN_EVENTS_CHANNEL
from turnlog.chunks import Chunk


class AttemptSuperseded(Exception):
    """A newer attempt of the step owns the turn's stream: this one must stop writing."""


@dataclass(frozen=True)
class Fence:
    """Writes are allowed only while `owner` owns the stream of turn `turn_id` (a sub-agent's step writes its
    progress into its parent's log, fenced by its own turn)."""

    turn_id: str
    owner: str


# One statement: lock the turn row while allocating seqs, insert, notify. The lock is held until commit, so a
# concurrent writer of the same turn commits after this one and readers never see seq N+1 before seq N. The fence
# is checked on the locked row itself when it is the turn written to, so a claim committed meanwhile is seen.
_APPEND = text(
    """
    WITH alloc AS (
        UPDATE turns SET last_event_seq = last_event_seq + :n
        WHERE id = :turn_id AND (
            CAST(:owner AS text) IS NULL
            OR (id = CAST(:fence_turn AS uuid) AND stream_owner = :owner)
            OR (id <> CAST(:fence_turn AS uuid) AND EXISTS (
                SELECT 1 FROM turns f WHERE f.id = CAST(:fence_turn AS uuid) AND f.stream_owner = :owner
            ))
        )
        RETURNING last_event_seq
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
_CLAIM = text("UPDATE turns SET stream_owner = :owner WHERE id = :turn_id")


async def append_chunks(
    conn: AsyncConnection, turn_id: uuid.UUID | str, chunks: Sequence[Chunk], fence: Fence | None = None
) -> int:
    """Appends within the caller's transaction; the notification goes out when it commits. Returns the last seq."""
    params = {
        "turn_id": str(turn_id),
        "n": len(chunks),
        "payloads": json.dumps(list(chunks)),
        "channel": TURN_EVENTS_CHANNEL,
        "owner": fence.owner if fence is not None else None,
        "fence_turn": fence.turn_id if fence is not None else None,
    }
    row = (await conn.execute(_APPEND, params)).one()
    if row.last is None:
        if fence is not None:
            raise AttemptSuperseded(f"{fence.owner} no longer owns the stream of turn {fence.turn_id}")
        raise LookupError(f"turn {turn_id} does not exist")
    return int(row.last)


async def claim_stream(conn: AsyncConnection, fence: Fence) -> None:
    """Makes `fence.owner` the only writer of the turn's stream; waits for a write in flight to commit first."""
    await conn.execute(_CLAIM, {"turn_id": fence.turn_id, "owner": fence.owner})
