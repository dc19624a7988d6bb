"""Per-account limits on what one tenant can hold at once: open streams, handoff drafts being written, running and
queued turns, live sandboxes. Each is a setting; reaching one answers 429 with Retry-After, and it frees again as
soon as what was held ends."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.dependencies import AppSettings, CurrentCaller
from api.problems import ProblemError
from models.enums import LIVE_TURN_STATUSES, SandboxState
from models.settings import Settings
from models.tables import Chat, Session, Turn


class Held(StrEnum):
    STREAMS = "open streams"
    DRAFTS = "handoff drafts being written"
    ACTIVE_TURNS = "running turns"
    QUEUED_TURNS = "queued turns"
    SANDBOXES = "live sandboxes"


# When to ask again: streams, drafts and turns usually end within seconds; a sandbox frees only when its session
# has been idle for a while (or is archived).
RETRY_AFTER_S = {
    Held.STREAMS: 5,
    Held.DRAFTS: 10,
    Held.ACTIVE_TURNS: 5,
    Held.QUEUED_TURNS: 10,
    Held.SANDBOXES: 60,
}
_LIVE_TURNS = [status.value for status in LIVE_TURN_STATUSES]
_LIVE_SANDBOXES = [SandboxState.PROVISIONING.value, SandboxState.READY.value]


def check_limit(what: Held, held: int, allowed: int) -> None:
    """The one check of every limited route: 429 once the account already holds `allowed`."""
    if held >= allowed:
        raise ProblemError(
            429,
            "limit-reached",
            f"this account already holds {held} {what.value}, its limit; retry when one ends",
            headers={"Retry-After": str(RETRY_AFTER_S[what])},
        )


class ProcessHolds:
    """What each account holds in this API process (streams, drafts), counted as each opens and ends."""

    def __init__(self) -> None:
        self._held: Counter[tuple[Held, uuid.UUID]] = Counter()

    @contextlib.contextmanager
    def hold(self, what: Held, account_id: uuid.UUID, allowed: int) -> Iterator[None]:
        key = (what, account_id)
        check_limit(what, self._held[key], allowed)
        self._held[key] += 1
        try:
            yield
        finally:
            self._held[key] -= 1
            if not self._held[key]:
                del self._held[key]


def _slot(what: Held, allowed: Callable[[Settings], int]) -> Callable[..., AsyncIterator[None]]:
    """A dependency holding one of the caller's `what` for the whole request, its streamed body included."""

    async def hold(request: Request, caller: CurrentCaller, settings: AppSettings) -> AsyncIterator[None]:
        holds: ProcessHolds = request.app.state.holds
        with holds.hold(what, caller.account_id, allowed(settings)):
            yield

    return hold


StreamSlot = Annotated[None, Depends(_slot(Held.STREAMS, lambda s: s.max_open_streams_per_account))]
DraftSlot = Annotated[None, Depends(_slot(Held.DRAFTS, lambda s: s.max_handoff_drafts_per_account))]


async def check_turn_limits(db: AsyncSession, session: Session, queued: bool, settings: Settings) -> None:
    """Before a send adds a turn (and, in a session without one, a sandbox). Counted in the send's transaction:
    sends of one account racing each other may pass together, so a limit may be passed by the sends in flight."""
    live = (
        select(
            func.count().filter(Chat.active_turn_id == Turn.id),
            func.count().filter(Chat.active_turn_id.is_distinct_from(Turn.id)),
        )
        .select_from(Turn)
        .join(Chat, Chat.id == Turn.chat_id)
        .where(Turn.account_id == session.account_id, Turn.parent_turn_id.is_(None), Turn.status.in_(_LIVE_TURNS))
    )
    active, waiting = (await db.execute(live)).one()
    if queued:
        check_limit(Held.QUEUED_TURNS, waiting, settings.max_queued_turns_per_account)
    else:
        check_limit(Held.ACTIVE_TURNS, active, settings.max_active_turns_per_account)
    own = select(_sandbox_live()).where(Session.id == session.id)
    if not await db.scalar(own):
        others = select(func.count()).where(Session.account_id == session.account_id, _sandbox_live())
        check_limit(Held.SANDBOXES, int(await db.scalar(others) or 0), settings.max_live_sandboxes_per_account)


def _sandbox_live() -> ColumnElement[bool]:
    """Provisioning or ready, or about to be: a live turn's session gets its sandbox beside the turn's first step."""
    turning = exists().where(Turn.session_id == Session.id, Turn.status.in_(_LIVE_TURNS))
    return or_(Session.sandbox_state.in_(_LIVE_SANDBOXES), turning)
