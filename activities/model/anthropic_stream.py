"""Claude over the real `anthropic` SDK. The SDK never retries (max_retries=0): Temporal is the only retrier."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, cast

from anthropic import AsyncAnthropic
from anthropic.types import (
    CacheControlEphemeralParam,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStreamEvent,
)

from activities.model.events import BlockDelta, BlockStart, BlockStop, ModelEvent, ModelRequest, StepStop, Usage

_CACHED: CacheControlEphemeralParam = {"type": "ephemeral"}


def with_cache_breakpoints(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Marks the last user message so the next step and the next turn read the whole history from cache
    (a continuation prefill after it is one-off and not worth caching)."""
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        return messages
    marked = dict(messages[users[-1]])
    content = marked["content"]
    blocks: list[dict[str, Any]] = (
        [{"type": "text", "text": content}] if isinstance(content, str) else [dict(b) for b in content]
    )
    if blocks:
        blocks[-1]["cache_control"] = dict(_CACHED)
    marked["content"] = blocks
    return [*messages[: users[-1]], marked, *messages[users[-1] + 1 :]]


class AnthropicProvider:
    def __init__(self, api_key: str, base_url: str | None, timeout_s: float) -> None:
        self._client = AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        # Raw events (create(stream=True)) rather than the accumulating helper: each delta is forwarded as is,
        # with no per-delta snapshot of the whole message.
        stream = await self._client.messages.create(
            model=request.model,
            max_tokens=request.max_tokens,
            system=[{"type": "text", "text": request.system, "cache_control": _CACHED}],
            messages=cast(Any, with_cache_breakpoints(request.messages)),
            tools=cast(Any, request.tools),
            stream=True,
        )
        translator = _Translator()
        try:
            async for event in stream:
                for translated in translator.translate(event):
                    yield translated
        finally:
            await stream.close()  # on stop or crash this is what the upstream sees as the disconnect


class _Translator:
    """SDK events to provider-neutral ones, keeping the call's running usage."""

    def __init__(self) -> None:
        self.usage = Usage()

    def translate(self, event: RawMessageStreamEvent) -> list[ModelEvent]:
        if isinstance(event, RawMessageStartEvent):
            u = event.message.usage
            self.usage = Usage(
                input_tokens=u.input_tokens,
                output_tokens=u.output_tokens,
                cache_write_tokens=u.cache_creation_input_tokens or 0,
                cache_read_tokens=u.cache_read_input_tokens or 0,
            )
            return [self.usage]
        if isinstance(event, RawContentBlockStartEvent):
            return self._block_start(event)
        if isinstance(event, RawContentBlockDeltaEvent):
            delta = event.delta
            if delta.type == "text_delta":
                return [BlockDelta(event.index, delta.text)]
            if delta.type == "input_json_delta":
                return [BlockDelta(event.index, delta.partial_json)]
            if delta.type == "thinking_delta":
                return [BlockDelta(event.index, delta.thinking)]
            return []
        if isinstance(event, RawContentBlockStopEvent):
            return [BlockStop(event.index)]
        if isinstance(event, RawMessageDeltaEvent):
            delta_usage = event.usage
            previous = self.usage
            self.usage = Usage(
                input_tokens=delta_usage.input_tokens or previous.input_tokens,
                output_tokens=delta_usage.output_tokens,
                cache_write_tokens=delta_usage.cache_creation_input_tokens or previous.cache_write_tokens,
                cache_read_tokens=delta_usage.cache_read_input_tokens or previous.cache_read_tokens,
            )
            stop: list[ModelEvent] = [StepStop(event.delta.stop_reason)] if event.delta.stop_reason else []
            return [self.usage, *stop]
        return []

    @staticmethod
    def _block_start(event: RawContentBlockStartEvent) -> list[ModelEvent]:
        block = event.content_block
        if block.type == "tool_use":
            return [BlockStart(event.index, "tool_use", tool_call_id=block.id, tool_name=block.name)]
        if block.type in {"text", "thinking"}:
            return [BlockStart(event.index, "text" if block.type == "text" else "thinking")]
        return []
