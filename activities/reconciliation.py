"""The reconciler: finds live turns whose workflow does not run (a send whose API died between its commit and
starting the workflow, a workflow an operator terminated) and starts the workflow of a turn that never began, or
ends any other such turn as failed, handing its chat's slot on."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.service import RPCError

from models.enums import Outcome, TurnStatus
from models.names import RECONCILE_TURNS
from models.reconciliation import ReconcileTurnsInput, ReconcileTurnsResult
from models.settings import Settings
from models.turns import TurnInput
from turnlog.ending import end_turn, hand_slot_on
from turnlog.launch import WorkflowState, start_turn_workflow, turn_workflow_state

_log = logging.getLogger("turnflow.reconciliation")
LOST_TURN_ERROR = (
    "this turn was interrupted by a service failure and cannot go on; your message is saved, send it again"
)

# Queued turns first: they are the ones that hold or wait for a chat's slot without a workflow to run them.
_LIVE_TURNS = text(
    """
    SELECT t.id, t.chat_id, t.session_id, t.account_id, t.workflow_id, t.status, t.model_id,
        c.active_turn_id IS DISTINCT FROM t.id AS queued
    FROM turns t JOIN chats c ON c.id = t.chat_id
    WHERE t.status IN ('queued', 'running', 'waiting') AND t.parent_turn_id IS NULL
        AND t.created_at < now() - make_interval(secs => :after)
    ORDER BY t.status = 'queued' DESC, t.created_at
    LIMIT :batch
    """
)


class ReconcileActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name=RECONCILE_TURNS)
    async def reconcile_turns(self, params: ReconcileTurnsInput) -> ReconcileTurnsResult:
        """Idempotent and safe beside a send: a workflow it starts is the one the send would have started."""
        async with self._engine.connect() as conn:
            turns = (
                await conn.execute(_LIVE_TURNS, {"after": params.stranded_after_s, "batch": params.batch_size})
            ).all()
        started = failed = 0
        for turn in turns:
            activity.heartbeat(str(turn.id))
            try:
                state = await turn_workflow_state(activity.client(), turn.workflow_id, str(turn.id))
                if state == WorkflowState.RUNNING:
                    continue
                if state == WorkflowState.MISSING and turn.status == TurnStatus.QUEUED:
                    await self._start(turn)
                    started += 1
                elif await self._fail(turn):
                    failed += 1
            except RPCError as exc:
                _log.warning("turn %s (workflow %s) not reconciled this time: %s", turn.id, turn.workflow_id, exc)
            except Exception:
                # One turn that cannot be ended must not keep every later one stranded: logged, and tried next run.
                _log.exception("turn %s (workflow %s) could not be reconciled", turn.id, turn.workflow_id)
        if started or failed:
            _log.info("reconciler: %d stranded turns started, %d failed (of %d live)", started, failed, len(turns))
        return ReconcileTurnsResult(checked=len(turns), started=started, failed=failed)

    async def _start(self, turn: Any) -> None:
        _log.warning("turn %s has no workflow: starting %s", turn.id, turn.workflow_id)
        params = TurnInput(
            turn_id=str(turn.id),
            chat_id=turn.chat_id,
            session_id=str(turn.session_id),
            account_id=str(turn.account_id),
            model=turn.model_id or self._settings.default_model(),
            max_steps=self._settings.max_steps,
            subagent_max_steps=self._settings.subagent_max_steps,
            queued=turn.queued,
        )
        await start_turn_workflow(activity.client(), params, turn.workflow_id, activity.info().task_queue)

    async def _fail(self, turn: Any) -> bool:
        async with self._engine.begin() as conn:
            ending = await end_turn(conn, turn.id, Outcome.FAILED, error=LOST_TURN_ERROR)
        if ending is None or not ending.ended_now:
            return False  # it ended by itself meanwhile
        _log.warning("turn %s lost its workflow %s: failed", turn.id, turn.workflow_id)
        if ending.next_workflow_id:
            await hand_slot_on(activity.client(), ending.next_workflow_id)
        return True
