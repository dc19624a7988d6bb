"""The tests' stand-in Anthropic server, also noting when each text delta leaves it (the emit side of delivery)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from tests.standin.anthropic_server import Call, Script, StandIn, _text_of

_TEXT_DELTA_EVENT = b"event: content_block_delta\n"


class TimedStandIn(StandIn):
    """Emit times are keyed by the request's last user text, which each benchmark turn makes unique."""

    def __init__(self) -> None:
        super().__init__()
        self.emitted: dict[str, list[float]] = {}

    async def _stream(
        self, call: Call, body: dict[str, Any], script: Script, stream_error: str | None
    ) -> AsyncIterator[bytes]:
        times = self.emitted[_prompt_of(body)] = []
        async for frame in super()._stream(call, body, script, stream_error):
            if frame.startswith(_TEXT_DELTA_EVENT) and b'"text_delta"' in frame:
                times.append(time.monotonic())
            yield frame

    def last_call_for(self, prompt: str) -> Call:
        """The request that answered `prompt` (the last one, should Temporal have retried the step)."""
        for call in reversed(self.calls):
            if _prompt_of(call.body) == prompt:
                return call
        raise LookupError(f"the stand-in never received {prompt!r}; is the worker using it (ANTHROPIC_BASE_URL)?")


def _prompt_of(body: dict[str, Any]) -> str:
    return _text_of(body["messages"][-1]["content"])
