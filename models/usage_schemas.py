"""Response bodies of the usage API: the account's tokens and cost, grouped as asked."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import ConfigDict, Field

from models.enums import AgentType
from models.wire import WireModel


class UsageGroup(StrEnum):
    MODEL = "model"
    DAY = "day"
    AGENT_TYPE = "agent_type"
    SESSION = "session"
    CHAT = "chat"


class UsageRow(WireModel):
    """Totals of one group; only the keys named in `groupBy` are present."""

    model: str | None = None
    day: date | None = Field(None, description="UTC calendar day.")
    agent_type: AgentType | None = None
    session_id: uuid.UUID | None = Field(None, description="The session, when grouped by session.")
    chat_id: str | None = Field(
        None, description="The chat, when grouped by chat (calls outside a chat, such as session titles, have none)."
    )
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal = Field(description="USD, as a decimal string.")
    calls: int = Field(description="Model calls (each retry attempt is a call of its own).")
    turns: int = Field(description="Distinct turns those calls belong to.")


class UsageReport(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "groupBy": ["model", "day"],
                    "rows": [
                        {
                            "model": "claude-sonnet-4-6",
                            "day": "2026-11-21",
                            "inputTokens": 18240,
                            "outputTokens": 2210,
                            "cacheWriteTokens": 4096,
                            "cacheReadTokens": 61440,
                            "costUsd": "0.121152",
                            "calls": 31,
                            "turns": 12,
                        }
                    ],
                }
            ]
        }
    )

    group_by: list[UsageGroup]
    rows: list[UsageRow] = Field(description="One row per group; one row of totals when nothing is grouped.")
