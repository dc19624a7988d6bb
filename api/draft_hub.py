"""One LISTEN connection per API process for every handoff draft it relays, so a draft request opens no database
connection of its own (one each would let a burst of requests exhaust the server's connections)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from models.names import HANDOFF_DRAFTS_CHANNEL
from models.session_summary import DraftNotice
from turnlog.listen import PgListener, Subscribers

Deliver = Callable[[DraftNotice], None]


class DraftHub:
    def __init__(self, dsn: str) -> None:
        self._readers: Subscribers[Deliver] = Subscribers()
        # Notices lost while reconnecting leave a gap that the reader detects from the offsets: nothing to catch up.
        self._listener = PgListener(dsn, HANDOFF_DRAFTS_CHANNEL, self._on_notify, lambda: None)

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    @contextlib.contextmanager
    def subscription(self, draft_id: str, deliver: Deliver) -> Iterator[None]:
        """Notices of the draft go to `deliver` until the block ends; subscribe before the draft starts."""
        self._readers.add((draft_id,), deliver)
        try:
            yield
        finally:
            self._readers.remove((draft_id,), deliver)

    def _on_notify(self, payload: str) -> None:
        draft_id, notice = DraftNotice.decode(payload)
        for deliver in self._readers.of(draft_id):
            deliver(notice)
