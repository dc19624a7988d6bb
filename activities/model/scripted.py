"""An offline model: deterministic streamed text and a real tool call, through the same activities as Claude.

It makes `make dev` useful with no API key. A directive at the start of the user's message picks the tool it
calls (scripted_directives.py: a command, a question, a sub-agent, triage, a slow command, a file); any other
message first lists the workspace with `bash`; then it answers quoting the tool's output. Asked to name a session
or draft its handoff, it writes from the request alone.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator
from typing import Any

from activities.model.events import BlockDelta, BlockStart, BlockStop, ModelEvent, ModelRequest, StepStop, Usage
from activities.model.scripted_directives import ToolCall, first_call, next_call
from activities.model.scripted_writing import written_answer

SCRIPTED_MODEL = "scripted"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if b.get("type") == "text")


def _tool_results(content: Any) -> list[dict[str, Any]]:
    return [] if isinstance(content, str) else [b for b in content if b.get("type") == "tool_result"]


def _tool_output(result: dict[str, Any]) -> str:
    """The command's output when the tool returned bash's JSON, else the raw result."""
    raw = _text(result.get("content", "")).strip()
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    return str(parsed.get("output", raw)).strip() if isinstance(parsed, dict) else raw


def _call_answered(messages: list[dict[str, Any]], result: dict[str, Any]) -> ToolCall | None:
    """The tool call a result answers, from the assistant message before it."""
    if len(messages) < 2 or isinstance(messages[-2]["content"], str):
        return None
    for block in messages[-2]["content"]:
        if block.get("type") == "tool_use" and block.get("id") == result.get("tool_use_id"):
            return str(block["name"]), dict(block.get("input") or {})
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


class ScriptedProvider:
    def __init__(self, delay_ms: float) -> None:
        self._delay_s = delay_ms / 1000

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        written = written_answer(request)
        if written is not None:
            async for event in self._text_block(written):
                yield event
            # Naming a session or drafting its handoff is bookkeeping, not chat: it reports no tokens, so an
            # offline session's usage counts its turns only.
            yield Usage()
            yield StepStop("end_turn")
            return
        last = request.messages[-1]["content"] if request.messages else ""
        results = _tool_results(last)
        input_tokens = sum(len(json.dumps(m)) for m in request.messages) // 4
        yield Usage(input_tokens=input_tokens, output_tokens=1)
        tool: ToolCall | None
        if results:
            previous = _call_answered(request.messages, results[0])
            tool = next_call(previous) if previous is not None else None
            if tool is not None:
                reply = f"Now {tool[0]}."
            else:
                reply = f"The tool answered:\n\n{_tool_output(results[0])[:1500]}\n\nThat is all I can do offline."
        else:
            reply, tool = first_call(_text(last).strip())
        async for event in self._text_block(reply):
            yield event
        if tool is not None:
            yield BlockStart(1, "tool_use", tool_call_id=f"toolu_scripted_{len(request.messages)}", tool_name=tool[0])
            yield BlockDelta(1, json.dumps(tool[1]))
            yield BlockStop(1)
        yield Usage(input_tokens=input_tokens, output_tokens=len(_words(reply)) + (8 if tool else 0))
        yield StepStop("tool_use" if tool else "end_turn")

    async def _text_block(self, reply: str) -> AsyncGenerator[ModelEvent, None]:
        """The reply as the first content block, word by word at the scripted pace."""
        yield BlockStart(0, "text")
        for n, word in enumerate(_words(reply)):
            if n and self._delay_s:
                await asyncio.sleep(self._delay_s)
            yield BlockDelta(0, word)
        yield BlockStop(0)
