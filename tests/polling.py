"""Waiting for something to happen by checking for it, with a deadline: never a bare sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DEADLINE_S = 30.0


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, deadline_s: float = DEADLINE_S) -> None:
    """Polls a condition with a deadline: the way tests wait for processes, never a bare sleep."""
    end = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > end:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)
