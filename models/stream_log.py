"""The turn stream log: its one write path, and facts shared by its writers and its readers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# pg_notify channel; the payload is "<turn id>:<last seq written>".
TURN_EVENTS_CHANNEL = "turn_events"
# Chunks after which a turn's stream has nothing more to say.
TERMINAL_CHUNK_TYPES = frozenset({"finish", "abort", "error"})
# pg_notify channel for stop requests; the payload is the turn id. The fast path of a stop: Temporal's own
# cancellation reaches an activity only at its next heartbeat, seconds later.
TURN_CONTROL_CHANNEL = "turn_control"
# ApplicationError type an activity raises when a stop request ended it.
TURN_STOPPED_ERROR = "TurnStopped"
# ApplicationError types of model failures start so; their messages are meant for the user.
MODEL_ERROR_PREFIX = "Model"


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


async def append_chunks(conn: AsyncConnection, turn_id: uuid.UUID | str, chunks: Sequence[dict[str, Any]]) -> int:
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
