"""A stand-in for Anthropic's Messages API that the real `anthropic` SDK talks to over HTTP.

It speaks the real SSE protocol (`event:` lines, message_start … message_stop, ping, error events) and is
steered by directives in the last user message, so every scenario is deterministic:

    [[tool:NAME:{json}]]     call a tool (repeat for parallel calls in one message)
    [[delay:MS]]             pause between text deltas          [[ttft:MS]]  pause before the first token
    [[words:N]]              answer with N numbered words        [[http:STATUS]]  answer with an HTTP error
    [[fail:N]]               the first N attempts get the error of [[http:…]] or [[stream-error:…]]
    [[stream-error:TYPE]]    an `event: error` of TYPE after the first delta
    [[retry-after:S]]        send a retry-after header with HTTP errors
    [[overlap:N]]            when asked to continue a cut-off reply, first repeat its last N words

Without directives it echoes the user's text. After tool results it reports them back and stops. Like Claude 4.6
and later, it answers 400 to an assistant prefill on those models; asked to continue (a prefill on older models,
or turnflow's <partial_reply> instruction) it goes on from where the partial reply stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.stack import serve_app

DIRECTIVE = re.compile(r"\[\[([a-z-]+)(?::(.*?))?\]\]")
PARTIAL = re.compile(r"\[turnflow\].*?<partial_reply>\n(.*)\n</partial_reply>.*", re.DOTALL)
NO_PREFILL = re.compile(r"claude-(?:opus|sonnet|haiku)-(?:4-[6-9]|[5-9]-)")


@dataclass
class Call:
    """One request the stand-in received, and what became of its stream."""

    body: dict[str, Any]
    headers: dict[str, str]
    peer_port: int | None = None
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    finished: bool = False
    disconnected_at: float | None = None


@dataclass
class Script:
    text: str
    tools: list[tuple[str, dict[str, Any]]]
    delay_ms: float = 0
    ttft_ms: float = 0
    http_status: int | None = None
    fail_times: int = 0
    stream_error: str | None = None
    retry_after: str | None = None
    overlap_words: int = 0


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")


def _tool_results(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def plan(body: dict[str, Any]) -> Script:
    """Decides the reply from the conversation, the way a model would, but deterministically."""
    messages = body["messages"]
    prefill = _text_of(messages[-1]["content"]) if messages[-1]["role"] == "assistant" else None
    last = messages[-2] if prefill is not None else messages[-1]
    raw = _text_of(last["content"])
    asked_to_continue = PARTIAL.search(raw)
    partial = prefill if prefill is not None else (asked_to_continue.group(1) if asked_to_continue else None)
    script = _fresh_plan(last["content"], PARTIAL.sub("", raw))
    if partial is not None and script.text.startswith(partial):
        said = script.text[: len(partial)]
        repeated = "".join(_chunks(said)[-script.overlap_words :]) if script.overlap_words else ""
        script.text = repeated + script.text[len(partial) :]
    return script


def _conversation_key(body: dict[str, Any]) -> str:
    """The same for a request and its continuations, so [[fail:N]] counts attempts at one reply."""
    messages = body["messages"][:-1] if body["messages"][-1]["role"] == "assistant" else body["messages"]
    return json.dumps([(m["role"], PARTIAL.sub("", _text_of(m["content"]))) for m in messages])


def _fresh_plan(content: Any, raw: str) -> Script:
    results = _tool_results(content)
    if results:
        summary = "; ".join(
            f"{'error' if r.get('is_error') else 'ok'}: {_text_of(r.get('content', ''))[:200]}" for r in results
        )
        return Script(text=f"Tool results — {summary}", tools=[])
    script = Script(text="", tools=[])
    words = 0
    for name, arg in DIRECTIVE.findall(raw):
        if name == "tool":
            tool, _, payload = arg.partition(":")
            script.tools.append((tool, json.loads(payload or "{}")))
        elif name == "delay":
            script.delay_ms = float(arg)
        elif name == "ttft":
            script.ttft_ms = float(arg)
        elif name == "words":
            words = int(arg)
        elif name == "http":
            script.http_status = int(arg)
        elif name == "fail":
            script.fail_times = int(arg)
        elif name == "stream-error":
            script.stream_error = arg
        elif name == "retry-after":
            script.retry_after = arg
        elif name == "overlap":
            script.overlap_words = int(arg)
    plain = DIRECTIVE.sub("", raw).strip()
    script.text = " ".join(f"w{i}" for i in range(words)) if words else f"Echo: {plain}"
    return script


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _chunks(text: str) -> list[str]:
    """Word-sized deltas with their spaces, so the joined deltas equal the text exactly."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


class StandIn:
    """The stand-in's state: what it was asked, and how often each conversation failed."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.url = ""
        self._attempts: Counter[str] = Counter()
        self.app = Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])

    def calls_with(self, marker: str) -> list[Call]:
        """Requests whose conversation mentions the marker: one test's calls, whatever runs beside it."""
        return [c for c in self.calls if marker in json.dumps(c.body["messages"])]

    def turn_calls(self, marker: str) -> list[Call]:
        """The model steps of turns and sub-agents (they offer tools) that mention the marker."""
        return [c for c in self.calls_with(marker) if c.body.get("tools")]

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        call = Call(body=body, headers=dict(request.headers), peer_port=request.client.port if request.client else None)
        self.calls.append(call)
        if body["messages"][-1]["role"] == "assistant" and NO_PREFILL.match(body["model"]):
            error = {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "This model does not support assistant message prefill.",
                },
            }
            return JSONResponse(error, status_code=400)
        script = plan(body)
        key = _conversation_key(body)
        self._attempts[key] += 1
        failing = self._attempts[key] <= script.fail_times or (script.fail_times == 0 and script.http_status)
        if script.http_status and failing:
            headers = {"retry-after": script.retry_after} if script.retry_after else {}
            error = {"type": "error", "error": {"type": _error_type(script.http_status), "message": "stand-in"}}
            return JSONResponse(error, status_code=script.http_status, headers=headers)
        stream_error = script.stream_error if (failing or script.fail_times == 0) else None
        return StreamingResponse(
            self._stream(call, body, script, stream_error),
            media_type="text/event-stream",
            headers={"request-id": f"req_{uuid.uuid4().hex[:12]}"},
        )

    async def _stream(
        self, call: Call, body: dict[str, Any], script: Script, stream_error: str | None
    ) -> AsyncIterator[bytes]:
        try:
            async for frame in self._frames(call, body, script, stream_error):
                yield frame
            call.finished = True
        except asyncio.CancelledError:
            call.disconnected_at = time.monotonic()
            raise
        finally:
            if not call.finished and call.disconnected_at is None:
                call.disconnected_at = time.monotonic()

    async def _frames(
        self, call: Call, body: dict[str, Any], script: Script, stream_error: str | None
    ) -> AsyncIterator[bytes]:
        input_tokens = sum(len(json.dumps(m)) // 4 for m in body["messages"])
        cached = any("cache_control" in json.dumps(s) for s in [body.get("system", "")])
        usage = {
            "input_tokens": input_tokens,
            "output_tokens": 1,
            "cache_creation_input_tokens": 10 if cached else 0,
            "cache_read_input_tokens": 5 if cached else 0,
        }
        message = {
            "id": f"msg_{uuid.uuid4().hex[:16]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        yield _sse("message_start", {"type": "message_start", "message": message})
        yield _sse("ping", {"type": "ping"})
        if script.ttft_ms:
            await asyncio.sleep(script.ttft_ms / 1000)
        yield _sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
        output_tokens = 0
        for n, piece in enumerate(_chunks(script.text)):
            if n and script.delay_ms:
                await asyncio.sleep(script.delay_ms / 1000)
            if call.first_token_at is None:
                call.first_token_at = time.monotonic()
            delta = {"type": "text_delta", "text": piece}
            yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
            output_tokens += 1
            if stream_error:
                yield _sse("error", {"type": "error", "error": {"type": stream_error, "message": "stand-in"}})
                return
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        for index, (name, tool_input) in enumerate(script.tools, start=1):
            block = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}", "name": name, "input": {}}
            yield _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
            encoded = json.dumps(tool_input)
            for cut in range(0, len(encoded), 12):
                delta = {"type": "input_json_delta", "partial_json": encoded[cut : cut + 12]}
                yield _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
            output_tokens += 5
        stop_reason = "tool_use" if script.tools else "end_turn"
        yield _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
        yield _sse("message_stop", {"type": "message_stop"})


def _error_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")


async def serve(standin: StandIn) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Starts the stand-in on a free loopback port in this event loop; returns the server, its task, its URL."""
    return await serve_app(standin.app)


def main() -> None:
    parser = argparse.ArgumentParser(description="Stand-in Anthropic Messages API for tests and benchmarks")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    uvicorn.run(StandIn().app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
