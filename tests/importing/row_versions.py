"""Row versions (xmin, ctid) of what an import wrote, to check that a re-run wrote nothing without asking the
importer."""

from __future__ import annotations

from typing import Any

import asyncpg

_VERSIONS = """
    SELECT 'session:' || s.id::text AS row, s.xmin::text AS xmin, s.ctid::text AS ctid
    FROM sessions s JOIN chats c ON c.session_id = s.id WHERE c.id = ANY($1::text[])
    UNION ALL SELECT 'chat:' || id, xmin::text, ctid::text FROM chats WHERE id = ANY($1::text[])
    UNION ALL SELECT 'message:' || chat_id || '/' || id, xmin::text, ctid::text
    FROM chat_messages WHERE chat_id = ANY($1::text[])
    UNION ALL SELECT 'account:' || a.id::text, a.xmin::text, a.ctid::text
    FROM accounts a WHERE a.id IN (SELECT account_id FROM chats WHERE id = ANY($1::text[]))
"""


async def row_versions(conn: asyncpg.Connection, chat_ids: list[Any]) -> dict[str, tuple[str, str]]:
    rows = await conn.fetch(_VERSIONS, [str(c) for c in chat_ids])
    return {r["row"]: (r["xmin"], r["ctid"]) for r in rows}
