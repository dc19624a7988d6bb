"""Stops running activities of a turn within milliseconds of a stop request.

Each worker process keeps one LISTEN connection on the turn-control channel; an activity registers its task
under its turn id, and a notification cancels that task. Temporal's cancellation stays the durable path.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from models.names import TURN_CONTROL_CHANNEL, TURN_STOPPED_ERROR
from turnlog.listen import PgListener, Subscribers


class TurnStopped(Exception):
    """Raised inside an activity whose turn was stopped."""


def stopped_error(turn_id: str) -> ApplicationError:
    """Non-retryable: a stopped turn must not be resumed by a retry. Benign: a stop is normal, so the SDK neither
    logs it as a failure with a traceback nor counts it as one (the activity logs one INFO line)."""
    return ApplicationError(
        f"turn {turn_id} was stopped",
        type=TURN_STOPPED_ERROR,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


class StopListener:
    def __init__(self, dsn: str) -> None:
        self._tasks: Subscribers[asyncio.Task[object]] = Subscribers()
        self._stopped: set[asyncio.Task[object]] = set()
        # Stops sent while disconnected are lost; Temporal's cancellation still arrives by heartbeat.
        self._listener = PgListener(dsn, TURN_CONTROL_CHANNEL, self._on_notify, lambda: None)

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    @contextlib.asynccontextmanager
    async def watch(self, *turn_ids: str) -> AsyncIterator[None]:
        """Within this block a stop request for any of the turns (a sub-agent watches its parent too) cancels
        the current task and raises TurnStopped."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(turn_ids, task)
        try:
            yield
        except asyncio.CancelledError:
            if task in self._stopped:
                task.uncancel()
                raise TurnStopped(turn_ids[0]) from None
            raise
        finally:
            self._stopped.discard(task)
            self._tasks.remove(turn_ids, task)

    def _on_notify(self, turn_id: str) -> None:
        for task in self._tasks.of(turn_id):
            if task not in self._stopped:
                self._stopped.add(task)
                task.cancel(f"turn {turn_id} stopped")
