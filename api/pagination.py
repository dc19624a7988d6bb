"""Opaque keyset cursors: rows inserted while a client pages never cause a gap or a duplicate."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query

from api import base64url
from api.problems import ProblemError
from api.time_bounds import utc_moment

# Seqs are PostgreSQL bigints: a bound past this could not even be compared.
MAX_SEQ = 2**63 - 1

CursorParam = Annotated[
    str | None, Query(max_length=512, description="`nextCursor` of the previous page; omit for the first page.")
]


def encode_cursor(at: datetime, row_id: uuid.UUID | str) -> str:
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64url.encode(raw)


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, row_id = json.loads(base64url.decode(cursor))
        if not isinstance(row_id, str) or "\x00" in row_id:
            raise TypeError("not an id this API issued")
        return utc_moment(datetime.fromisoformat(at), "cursor"), row_id
    except (ValueError, TypeError) as exc:
        raise ProblemError(422, "invalid-cursor", "cursor is not one this API issued", field="cursor") from exc


def decode_keyset_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A cursor over rows keyed by (time, uuid)."""
    at, raw_id = decode_cursor(cursor)
    try:
        return at, uuid.UUID(raw_id)
    except ValueError as exc:
        raise ProblemError(422, "invalid-cursor", "cursor is not one this API issued", field="cursor") from exc


def page_limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise ProblemError(422, "validation-error", f"limit must be between 1 and {maximum}", field="limit")
    return limit
