"""Starting a turn's workflow, the one way a send and the reconciler both do it, and finding out afterwards whether
a start whose answer was lost took effect."""

from __future__ import annotations

from enum import StrEnum

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from models.names import CHAT_TURN_WORKFLOW, TURN_KIND
from models.search_attributes import start_attributes
from models.turns import TurnInput

# The memo names the turn a run belongs to: a chat deleted and created again reuses its workflow ids.
TURN_ID_MEMO = "turnId"


class WorkflowState(StrEnum):
    RUNNING = "running"
    CLOSED = "closed"
    MISSING = "missing"


async def start_turn_workflow(temporal: Client, turn: TurnInput, workflow_id: str, task_queue: str) -> None:
    """Idempotent: when the turn's workflow is already running (a racing send or reconciler started it), that run
    is the turn's and nothing new starts."""
    await temporal.start_workflow(
        CHAT_TURN_WORKFLOW,
        turn,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        memo={TURN_ID_MEMO: turn.turn_id},
        search_attributes=start_attributes(
            TURN_KIND, chat_id=turn.chat_id, session_id=turn.session_id, account_id=turn.account_id
        ),
        static_summary=f"chat {turn.chat_id} · {turn.model}" + (" · queued" if turn.queued else ""),
    )


async def turn_workflow_state(temporal: Client, workflow_id: str, turn_id: str) -> WorkflowState:
    """Whether the turn's workflow runs, has closed, or was never started (a run of an older turn with the same
    id counts as missing). Raises RPCError when Temporal cannot tell."""
    try:
        described = await temporal.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return WorkflowState.MISSING
        raise
    if await described.memo_value(TURN_ID_MEMO, None) != turn_id:
        return WorkflowState.MISSING
    if described.status == WorkflowExecutionStatus.RUNNING:
        return WorkflowState.RUNNING
    return WorkflowState.CLOSED
