"""Heartbeats on a timer, whatever the activity is waiting on (a silent model, a long command)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

# Far more often than the 2 s heartbeat timeout: a worker that dies is noticed within seconds, and one that lives
# is never mistaken for dead while a model pauses between events.
HEARTBEAT_EVERY_S = 0.5


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
