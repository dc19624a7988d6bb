"""Runs a shell command in the session's workspace, with a timeout and an output cap."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
from typing import Any

from pydantic import Field

from activities.tools.base import Tool, ToolContext, ToolFailure, ToolInput

MAX_OUTPUT_BYTES = 64 * 1024
DEFAULT_TIMEOUT_S = 60
_PR_SET_PDEATHSIG = 1
# Only what a shell needs: the worker's own secrets (database URL, API keys) never reach the command.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ")


class BashInput(ToolInput):
    command: str = Field(min_length=1, max_length=16_000, description="A bash command line")
    timeout_s: int = Field(DEFAULT_TIMEOUT_S, ge=1, le=600, description="Wall-clock limit in seconds")


async def _bash(context: ToolContext, params: BashInput) -> dict[str, Any]:
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ} | {"HOME": str(context.workspace)}
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        params.command,
        cwd=context.workspace,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a stop kills the whole tree
        preexec_fn=_die_with_worker,
    )
    try:
        output, truncated = await asyncio.wait_for(_read_capped(process), timeout=params.timeout_s)
    except TimeoutError:
        _kill_group(process.pid)
        await process.wait()
        raise ToolFailure(f"the command timed out after {params.timeout_s} s and was killed") from None
    except asyncio.CancelledError:
        _kill_group(process.pid)
        raise
    return {"exitCode": process.returncode, "output": output.decode(errors="replace"), "truncated": truncated}


async def _read_capped(process: asyncio.subprocess.Process) -> tuple[bytes, bool]:
    """Keeps the first MAX_OUTPUT_BYTES and drains the rest, so a chatty command cannot fill memory."""
    assert process.stdout is not None
    kept = bytearray()
    truncated = False
    while chunk := await process.stdout.read(65536):
        room = MAX_OUTPUT_BYTES - len(kept)
        kept += chunk[:room]
        truncated = truncated or len(chunk) > room
    await process.wait()
    return bytes(kept), truncated


def _die_with_worker() -> None:
    """Runs in the child before exec: if the worker is killed, the shell dies too and its script stops."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, signal.SIGKILL)


BASH = Tool(
    "bash",
    "Run a bash command in the session's workspace directory. Returns its exit code and combined output.",
    BashInput,
    _bash,
)
