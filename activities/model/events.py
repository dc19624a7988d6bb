"""What a provider streams, independent of the provider: content blocks, usage, and why the step stopped."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

BlockKind = Literal["text", "tool_use", "thinking"]


@dataclass(frozen=True)
class BlockStart:
    index: int
    kind: BlockKind
    tool_call_id: str | None = None
    tool_name: str | None = None


@dataclass(frozen=True)
class BlockDelta:
    index: int
    text: str


@dataclass(frozen=True)
class BlockStop:
    index: int


@dataclass(frozen=True)
class Usage:
    """Cumulative for the call so far; the last one seen is the call's total."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0


@dataclass(frozen=True)
class StepStop:
    reason: str


ModelEvent = BlockStart | BlockDelta | BlockStop | Usage | StepStop


@dataclass(frozen=True)
class ModelRequest:
    model: str
    system: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    max_tokens: int = 4096


class ModelProvider(Protocol):
    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        """Streams one model call; closing the iterator closes the upstream connection."""
        ...
