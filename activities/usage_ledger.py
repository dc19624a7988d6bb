"""The usage ledger: one row per model call attempt, with its tokens and what they cost."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.model.events import Usage
from models.enums import AgentType
from models.pricing import cost_usd, price_for
from models.tables import UsageEvent

_log = logging.getLogger("turnflow.usage_ledger")


@dataclass(frozen=True)
class UsageRecord:
    """A call attempt's usage and who it counts toward; the dedupe key names the attempt."""

    dedupe_key: str
    account_id: uuid.UUID
    session_id: uuid.UUID
    model: str
    usage: Usage
    agent_type: AgentType = AgentType.MAIN
    turn_id: uuid.UUID | None = None
    chat_id: str | None = None
    tool_call_id: str | None = None


async def record_usage(conn: AsyncConnection, record: UsageRecord) -> bool:
    """Writes the row once however often it is retried; False, writing nothing, when nothing was billed."""
    usage = record.usage
    tokens = (usage.input_tokens, usage.output_tokens, usage.cache_write_tokens, usage.cache_read_tokens)
    if not any(tokens):
        return False  # refused before it began
    if price_for(record.model) is None:
        _log.warning("no price for model %s; usage %s is recorded at cost 0", record.model, record.dedupe_key)
    await conn.execute(
        insert(UsageEvent)
        .values(
            dedupe_key=record.dedupe_key,
            turn_id=record.turn_id,
            session_id=record.session_id,
            chat_id=record.chat_id,
            account_id=record.account_id,
            model=record.model,
            agent_type=record.agent_type.value,
            tool_call_id=record.tool_call_id,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cost_usd=cost_usd(record.model, *tokens),
        )
        .on_conflict_do_nothing(index_elements=[UsageEvent.dedupe_key])
    )
    return True
