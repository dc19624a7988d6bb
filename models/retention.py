"""Inputs and results of stream-log retention."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PruneTurnEventsInput:
    retention_hours: float
    batch_size: int = 5000


@dataclass(frozen=True)
class PruneTurnEventsResult:
    deleted_events: int
    pruned_turns: int
