"""One shared reader per live turn per API process: each wake-up costs one read of the log, however many clients
watch the turn; every viewer takes its frames from the reader's window and holds no database connection."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.enums import FINAL_TURN_STATUSES
from turnlog.chunks import TERMINAL_CHUNK_TYPES

_log = logging.getLogger("turnflow.turnlog.tail")
BATCH = 500
# Frames kept in memory per tailed turn; a viewer further behind reads the gap from the database itself.
WINDOW = 2000
OUTAGE_LIMIT_S = 60.0
OUTAGE_RETRY_S = 0.5

_AFTER = text(
    """
    SELECT seq, payload::text AS payload, payload->>'type' AS kind FROM turn_events
    WHERE turn_id = :turn_id AND seq > :after AND seq < :before ORDER BY seq LIMIT :limit
    """
)
_STATUS = text("SELECT status, last_event_seq FROM turns WHERE id = :turn_id")
_NO_END = 2**62


def _frame(seq: int, payload: str) -> str:
    return f"id: {seq}\ndata: {payload}\n\n"


async def read_frames(
    conn: AsyncConnection, turn_id: uuid.UUID, after: int, before: int = _NO_END
) -> list[tuple[int, str, bool]]:
    """Up to BATCH frames with after < seq < before, as (seq, SSE frame, whether the chunk ends the stream)."""
    params = {"turn_id": turn_id, "after": after, "before": before, "limit": BATCH}
    rows = (await conn.execute(_AFTER, params)).all()
    return [(row.seq, _frame(row.seq, row.payload), row.kind in TERMINAL_CHUNK_TYPES) for row in rows]


class TurnTail:
    """The turn's frames after `start_after`, read on every wake-up (a NOTIFY) or every `poll_s` at the latest."""

    def __init__(
        self,
        engine: AsyncEngine,
        turn_id: uuid.UUID,
        start_after: int,
        poll_s: float,
        on_delivery: Callable[[float], None] | None = None,
    ) -> None:
        self.turn_id = turn_id
        self._on_delivery = on_delivery
        self._woken_at: float | None = None  # the first notification not yet served
        self._engine = engine
        self._poll_s = poll_s
        # The window: frames with seq > base, in order.
        self.base = start_after
        self._seqs: list[int] = []
        self._frames: list[str] = []
        self.last = start_after
        self.terminal_seq: int | None = None
        self.ended = False  # the log will not grow: its terminal chunk was read, or the turn is over without one
        self.failed = False  # the database stayed unreachable for longer than OUTAGE_LIMIT_S
        self._changed = asyncio.Event()
        self._wake = asyncio.Event()
        self._notified = start_after  # the highest seq a notification named
        self._forced = False  # woken without a seq: read whatever the notifications say
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"tail {self.turn_id}")

    def close(self) -> None:
        """Stops reading; safe to call from a viewer that is itself being cancelled."""
        if self._task is not None:
            self._task.cancel()

    async def closed(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self, seq: int | None = None) -> None:
        """The log reached `seq` (a notification), or may have grown (None). A notification of frames already read
        (its batch committed while the read before it ran, which then read it too) wakes nobody."""
        if seq is not None:
            if seq <= self.last:
                return
            self._notified = max(self._notified, seq)
        else:
            self._forced = True
        self._woken_at = self._woken_at or time.monotonic()
        self._wake.set()

    def frames_after(self, seq: int) -> tuple[list[tuple[int, str]], asyncio.Event]:
        """The window's frames after `seq`, and an event set at the window's next change."""
        start = bisect.bisect_right(self._seqs, seq)
        return list(zip(self._seqs[start:], self._frames[start:], strict=True)), self._changed

    async def _run(self) -> None:
        outage_since: float | None = None
        while not self.ended:
            self._wake.clear()
            self._forced = False
            try:
                await self._read()
                outage_since = None
            except (OSError, SQLAlchemyError) as exc:
                now = time.monotonic()
                outage_since = outage_since or now
                if now - outage_since > OUTAGE_LIMIT_S:
                    _log.error("turn %s: log read failing since %.0f s: %s", self.turn_id, now - outage_since, exc)
                    self.failed = True
                    self._announce()
                    return
                _log.warning("turn %s: log read failed after seq %s, retrying: %s", self.turn_id, self.last, exc)
                await asyncio.sleep(OUTAGE_RETRY_S)
                continue
            if not self.ended:
                await self._news()

    async def _news(self) -> None:
        """Until a notification names a frame not read yet, a wake without a seq, or the poll interval passes."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll_s):
                while True:
                    await self._wake.wait()
                    if self._forced or self._notified > self.last:
                        return
                    self._wake.clear()
                    self._woken_at = None  # what it announced was read already

    async def _read(self) -> None:
        woken_at, self._woken_at = self._woken_at, None
        grew = False
        async with self._engine.connect() as conn:
            while True:
                frames = await read_frames(conn, self.turn_id, self.last)
                for seq, frame, terminal in frames:
                    self._seqs.append(seq)
                    self._frames.append(frame)
                    self.last = seq
                    if terminal:
                        self.terminal_seq, self.ended = seq, True
                        break
                grew = grew or bool(frames)
                if self.ended or len(frames) < BATCH:
                    break
            if not grew and await self._turn_over(conn):
                self.ended = True
        if grew or self.ended:
            self._trim()
            self._announce()
        if grew and woken_at is not None and self._on_delivery is not None:
            self._on_delivery(time.monotonic() - woken_at)

    async def _turn_over(self, conn: AsyncConnection) -> bool:
        """A finished turn with nothing left to read (its terminal chunk was pruned or never written)."""
        row = (await conn.execute(_STATUS, {"turn_id": self.turn_id})).one_or_none()
        return row is None or (row.status in FINAL_TURN_STATUSES and row.last_event_seq <= self.last)

    def _trim(self) -> None:
        extra = len(self._seqs) - WINDOW
        if extra > 0:
            self.base = self._seqs[extra - 1]
            del self._seqs[:extra], self._frames[:extra]

    def _announce(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
