"""The spend digest: its workflow and activity messages, and the digest as a webhook receives it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import Field

from models.wire import WireModel


@dataclass(frozen=True)
class SpendDigestInput:
    interval_minutes: int
    # Unset: the window ends at the schedule's action time (a run started by hand: its start time). Set it to
    # send a past window again.
    window_end: datetime | None = None


@dataclass(frozen=True)
class DigestWindow:
    """Usage recorded at or after `start` and before `end`."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class SpendDigestResult:
    window_start: datetime
    window_end: datetime
    calls: int
    turns: int
    cost_usd: str
    posted: bool


class SpendTotals(WireModel):
    calls: int
    turns: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal


class AccountSpend(SpendTotals):
    account_id: uuid.UUID
    account_name: str


class ModelSpend(SpendTotals):
    model: str


class AgentTypeSpend(SpendTotals):
    agent_type: str


class SpendDigest(WireModel):
    """What all accounts spent in one window, most expensive first."""

    digest_id: str = Field(description="The same for every post of one window, so a receiver can drop repeats.")
    window_start: datetime
    window_end: datetime
    totals: SpendTotals
    top_accounts: list[AccountSpend]
    models: list[ModelSpend]
    agent_types: list[AgentTypeSpend]
