"""The turn's rows: marked running, its slot claimed, and ended (turnlog/ending.py) when its workflow is done."""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from models.enums import FINAL_TURN_STATUSES, Outcome
from models.names import (
    BEGIN_TURN,
    CLAIM_QUEUED_SLOT,
    FINISH_TURN,
    HOUSEKEEPING_KIND,
    SANDBOX_KIND,
    SANDBOX_LIFECYCLE_WORKFLOW,
    SESSION_SUMMARY_WORKFLOW,
    TURN_FINISHED_SIGNAL,
    TURN_STARTED_SIGNAL,
)
from models.sandboxes import SandboxLifecycleInput, sandbox_workflow_id
from models.search_attributes import start_attributes
from models.session_summary import SessionSummaryInput, session_summary_workflow_id
from models.settings import Settings
from models.turns import FinishTurnInput, FinishTurnResult, TurnRef
from turnlog.control import signal_sandbox
from turnlog.ending import end_turn

_log = logging.getLogger("turnflow.turn_records")

# The session is locked before the turn, in the order every transaction follows (turnlog/lock_order.py).
_LOCK_SESSION = text(
    "SELECT 1 FROM sessions WHERE id = (SELECT session_id FROM turns WHERE id = :turn_id) FOR NO KEY UPDATE"
)
_BEGIN = text(
    """
    WITH t AS (
        UPDATE turns SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, now())
        WHERE id = :turn_id AND status IN ('queued', 'running')
        RETURNING session_id, attempts
    )
    UPDATE sessions s SET last_activity_at = now(), turn_count = turn_count + CASE WHEN t.attempts = 1 THEN 1 ELSE 0 END
    FROM t WHERE s.id = t.session_id
    RETURNING s.id
    """
)
# A free slot (or one an ended turn still holds) goes to the chat's oldest queued turn: a hand-off that never
# reached this turn is not waited for forever.
_TAKE_FREE_SLOT = text(
    """
    UPDATE chats c SET active_turn_id = me.id, updated_at = now()
    FROM turns me
    WHERE me.id = :turn_id AND c.id = me.chat_id AND me.status = 'queued' AND me.stop_requested_at IS NULL
        AND (c.active_turn_id IS NULL
             OR EXISTS (SELECT 1 FROM turns h WHERE h.id = c.active_turn_id AND h.status IN :final))
        AND NOT EXISTS (
            SELECT 1 FROM turns o WHERE o.chat_id = me.chat_id AND o.status = 'queued'
                AND o.stop_requested_at IS NULL AND o.number < me.number
        )
    """
).bindparams(bindparam("final", expanding=True))
# Go on when the slot is this turn's, or when the turn has already ended (its steps then refuse to run).
_MAY_RUN = text(
    """
    SELECT c.active_turn_id = t.id OR t.status IN :final FROM turns t JOIN chats c ON c.id = t.chat_id
    WHERE t.id = :turn_id
    """
).bindparams(bindparam("final", expanding=True))


class TurnRecordActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name=BEGIN_TURN)
    async def begin_turn(self, params: TurnRef) -> None:
        """Marks the turn running and tells the session's sandbox lifecycle a turn needs it (starting it if new)."""
        async with self._engine.begin() as conn:
            await conn.execute(_LOCK_SESSION, {"turn_id": params.turn_id})
            session_id = (await conn.execute(_BEGIN, {"turn_id": params.turn_id})).scalar_one_or_none()
        if session_id is None:
            return  # already finished (stopped while queued)
        await activity.client().start_workflow(
            SANDBOX_LIFECYCLE_WORKFLOW,
            SandboxLifecycleInput(str(session_id), self._settings.sandbox_idle_hibernate_s),
            id=sandbox_workflow_id(str(session_id)),
            task_queue=activity.info().task_queue,
            start_signal=TURN_STARTED_SIGNAL,
            start_signal_args=[params.turn_id],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"sandbox of session {session_id}",
            search_attributes=start_attributes(SANDBOX_KIND, session_id=str(session_id)),
        )

    @activity.defn(name=CLAIM_QUEUED_SLOT)
    async def claim_queued_slot(self, params: TurnRef) -> bool:
        """True when the queued turn may go on: the chat's slot is its own (handed over, or free and taken now), or
        the turn has already ended."""
        keys = {"turn_id": params.turn_id, "final": sorted(FINAL_TURN_STATUSES)}
        async with self._engine.begin() as conn:
            await conn.execute(_TAKE_FREE_SLOT, keys)
            return bool((await conn.execute(_MAY_RUN, keys)).scalar_one())

    @activity.defn(name=FINISH_TURN)
    async def finish_turn(self, params: FinishTurnInput) -> FinishTurnResult:
        """Ends the stream, persists the message as the client assembled it, rolls up usage, hands on the slot.

        Idempotent: a retry after a crash finds the turn ended and only reports who holds the slot now.
        """
        async with self._engine.begin() as conn:
            ending = await end_turn(
                conn,
                params.turn_id,
                params.outcome,
                error=params.error,
                finish_reason=params.finish_reason,
                steps=params.steps,
            )
        if ending is None:
            raise LookupError(f"turn {params.turn_id} has no row")
        await signal_sandbox(activity.client(), ending.session_id, TURN_FINISHED_SIGNAL, params.turn_id)
        if ending.ended_now and params.outcome == Outcome.COMPLETED and ending.needs_summary:
            await _start_summary(ending.session_id)
        return FinishTurnResult(ending.next_workflow_id)


async def _start_summary(session_id: str) -> None:
    """Title and problem domain, written by their own workflow after the answer is out: never in the turn's way."""
    try:
        await activity.client().start_workflow(
            SESSION_SUMMARY_WORKFLOW,
            SessionSummaryInput(session_id),
            id=session_summary_workflow_id(session_id),
            task_queue=activity.info().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"title and domain of session {session_id}",
            search_attributes=start_attributes(HOUSEKEEPING_KIND, session_id=session_id),
        )
    except RPCError as exc:
        _log.warning("session %s: title generation not started (the next turn tries again): %s", session_id, exc)
