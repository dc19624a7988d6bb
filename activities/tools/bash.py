"""Runs a shell command in the session's sandbox; long commands stream their output as they go."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from pydantic import Field

from activities.sandbox.base import CommandFailed
from activities.tools.base import Tool, ToolContext, ToolFailure, ToolInput

DEFAULT_TIMEOUT_S = 60
PROGRESS_EVERY_S = 0.5
PROGRESS_TAIL_BYTES = 4096


class BashInput(ToolInput):
    command: str = Field(min_length=1, max_length=16_000, description="A bash command line")
    timeout_s: int = Field(DEFAULT_TIMEOUT_S, ge=1, le=600, description="Wall-clock limit in seconds")


async def _bash(context: ToolContext, params: BashInput) -> dict[str, Any]:
    limits = dataclasses.replace(context.limits, wall_clock_s=params.timeout_s, cpu_s=params.timeout_s)
    so_far = bytearray()
    last_sent = time.monotonic()

    def on_output(chunk: bytes) -> None:
        nonlocal last_sent
        so_far.extend(chunk)
        if context.progress is not None and time.monotonic() - last_sent >= PROGRESS_EVERY_S:
            # Only the latest output: each progress chunk replaces the last, and the log keeps every one.
            tail = so_far[-PROGRESS_TAIL_BYTES:].decode(errors="replace")
            context.progress({"output": tail, "running": True, "truncated": len(so_far) > PROGRESS_TAIL_BYTES})
            last_sent = time.monotonic()

    try:
        result = await context.sandbox.run(params.command, limits, on_output)
    except CommandFailed as exc:
        raise ToolFailure(str(exc)) from None
    return {
        "exitCode": result.exit_code,
        "output": result.output.decode(errors="replace"),
        "truncated": result.truncated,
    }


BASH = Tool(
    "bash",
    "Run a bash command in the session's sandbox (working directory: the session's workspace; no network). "
    "Returns its exit code and combined output.",
    BashInput,
    _bash,
)
