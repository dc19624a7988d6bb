"""One agent turn: model steps and their tool calls until the model stops, then the message is persisted.

The conversation stays in PostgreSQL; this workflow only passes ids, so its history stays small and free of
tokens. Every side effect is an activity.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError, ChildWorkflowError, FailureError

from workflows.agent_steps import (
    BOOKKEEPING_RETRY,
    LoopEnd,
    bookkeeping,
    record_outcome,
    run_agent_loop,
    run_to_completion,
    tool_call,
)
from workflows.sandbox_routing import on_sandbox_host
from workflows.subagent import SubAgentWorkflow

# A queued turn re-checks its claim on the slot after these waits (doubling), in case a hand-off signal was lost.
SLOT_RECHECK_FIRST = timedelta(seconds=5)
SLOT_RECHECK_MAX = timedelta(minutes=5)
SYNC_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=4)

with workflow.unsafe.imports_passed_through():
    from models.enums import Outcome
    from models.names import (
        BEGIN_TURN,
        CHAT_TURN_WORKFLOW,
        CLAIM_QUEUED_SLOT,
        CLOSE_QUESTION,
        FINISH_TURN,
        OPEN_QUESTION,
        QUESTION_ANSWERED_SIGNAL,
        SLOT_GRANTED_SIGNAL,
        SUBAGENT_KIND,
        SYNC_WORKSPACE,
        WORKSPACE_SYNC_PATCH,
    )
    from models.sandboxes import SandboxRef, WorkspaceSyncResult
    from models.search_attributes import start_attributes
    from models.turns import (
        ASK_USER_QUESTION_TOOL,
        TASK_TOOL,
        FinishTurnInput,
        FinishTurnResult,
        QuestionOpened,
        SubAgentInput,
        ToolCallInput,
        ToolCallRef,
        ToolCallResult,
        TurnInput,
        TurnRef,
        TurnResult,
    )


@workflow.defn(name=CHAT_TURN_WORKFLOW)
class ChatTurnWorkflow:
    def __init__(self) -> None:
        self._slot_granted = False
        self._answered: set[str] = set()
        self._touched_workspace = False

    @workflow.signal(name=SLOT_GRANTED_SIGNAL)
    def slot_granted(self) -> None:
        """Sent by the turn before this one when it releases the chat's slot to this queued turn."""
        self._slot_granted = True

    @workflow.signal(name=QUESTION_ANSWERED_SIGNAL)
    def question_answered(self, tool_call_id: str) -> None:
        """Sent by the API after it saved the user's answer, so the turn goes on."""
        self._answered.add(tool_call_id)

    @workflow.run
    async def run(self, turn: TurnInput) -> TurnResult:
        """Runs the agent loop, then always finishes the turn: saves the message and hands on the slot."""
        begin: asyncio.Future[None] | None = None
        end: LoopEnd | None = None
        try:
            if turn.queued:
                await self._wait_for_slot(turn)
        except asyncio.CancelledError:
            end = LoopEnd(Outcome.STOPPED, cancelled=True)
        if end is None:
            # Bookkeeping runs beside the first model call, never in front of the first token.
            begin = workflow.start_activity(
                BEGIN_TURN,
                TurnRef(turn.turn_id),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=BOOKKEEPING_RETRY,
                summary="mark the turn running",
            )
            end = await run_agent_loop(
                turn.turn_id, turn.model, turn.max_steps, lambda call: self._run_call(turn, call)
            )
            # Its sandbox signal must be sent before the finish one, or the sandbox thinks a turn still runs.
            await run_to_completion(begin)
            if self._touched_workspace and workflow.patched(WORKSPACE_SYNC_PATCH):
                await run_to_completion(self._sync_workspace(turn))
        workflow.set_current_details(f"saving the {end.outcome} message")
        params = FinishTurnInput(
            turn.turn_id, end.outcome, finish_reason=end.finish_reason, error=end.error, steps=end.steps
        )
        finished = await run_to_completion(
            bookkeeping(
                FINISH_TURN,
                params,
                FinishTurnResult,
                f"persist the {end.outcome} message, release the slot",
                timeout_s=60,
            )
        )
        record_outcome(end)
        if finished.next_workflow_id:
            await self._hand_slot_to(finished.next_workflow_id)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if end.cancelled:
            raise asyncio.CancelledError()  # shows as Canceled in the Temporal UI
        return TurnResult(outcome=end.outcome, steps=end.steps)

    async def _wait_for_slot(self, turn: TurnInput) -> None:
        """Waits for the slot_granted signal, checking the claim in the database at start (the slot may have been
        handed over before this workflow started, when its signal had no target) and again now and then, so a
        hand-off whose signal was lost delays the turn rather than stranding it."""
        recheck = SLOT_RECHECK_FIRST
        while not await workflow.execute_local_activity(
            CLAIM_QUEUED_SLOT, TurnRef(turn.turn_id), result_type=bool, start_to_close_timeout=timedelta(seconds=10)
        ):
            workflow.set_current_details("queued: waiting for the turn before it to finish")
            try:
                await workflow.wait_condition(lambda: self._slot_granted, timeout=recheck)
                return
            except TimeoutError:
                recheck = min(recheck * 2, SLOT_RECHECK_MAX)

    async def _sync_workspace(self, turn: TurnInput) -> None:
        """The workspace's changes reach the snapshot store before the turn finishes, so the session outlives this
        worker's host. A store that stays down costs the turn a few retries, never its message: the next hibernation
        takes the snapshot again."""
        workflow.set_current_details("saving the workspace's changes")
        try:
            await on_sandbox_host(
                turn.session_id,
                SYNC_WORKSPACE,
                SandboxRef(turn.session_id),
                WorkspaceSyncResult,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=SYNC_RETRY,
                summary="save the workspace's changes",
            )
        except ActivityError:
            workflow.logger.warning("turn %s: its workspace changes were not saved to the store", turn.turn_id)

    async def _run_call(self, turn: TurnInput, call: ToolCallRef) -> ToolCallResult:
        if call.tool_name == ASK_USER_QUESTION_TOOL:
            return await self._ask(turn, call.tool_call_id)
        self._touched_workspace = True  # every other tool may use the workspace (a sub-agent's, too)
        if call.tool_name == TASK_TOOL:
            return await self._delegate(turn, call.tool_call_id)
        return await tool_call(turn.turn_id, turn.session_id, call.tool_call_id, call.tool_name)

    async def _delegate(self, turn: TurnInput, tool_call_id: str) -> ToolCallResult:
        """A sub-agent as a child workflow: stopping this turn cancels it too."""
        try:
            return await workflow.execute_child_workflow(
                SubAgentWorkflow.run,
                SubAgentInput(turn.turn_id, tool_call_id, turn.model, turn.subagent_max_steps),
                id=f"{workflow.info().workflow_id}:task:{tool_call_id}",
                static_summary=f"sub-agent for {tool_call_id}",
                search_attributes=start_attributes(
                    SUBAGENT_KIND, chat_id=turn.chat_id, session_id=turn.session_id, account_id=turn.account_id
                ),
            )
        except ChildWorkflowError as exc:
            if isinstance(exc.cause, CancelledError):  # the turn is being stopped
                raise asyncio.CancelledError() from exc
            return ToolCallResult(ok=False)  # its failure is already the tool's error in the stream

    async def _ask(self, turn: TurnInput, tool_call_id: str) -> ToolCallResult:
        """Waits for the user's answer durably: no activity runs, no worker is held, devices may change."""
        params = ToolCallInput(turn.turn_id, tool_call_id, ASK_USER_QUESTION_TOOL)
        opened = await bookkeeping(OPEN_QUESTION, params, QuestionOpened, f"ask the user ({tool_call_id})")
        if opened.waiting:
            workflow.set_current_details(f"waiting for the user's answer ({tool_call_id})")
            try:
                await workflow.wait_condition(
                    lambda: tool_call_id in self._answered, timeout=timedelta(seconds=opened.timeout_s)
                )
            except TimeoutError:
                workflow.logger.info("question %s of turn %s went unanswered", tool_call_id, turn.turn_id)
        return await bookkeeping(CLOSE_QUESTION, params, ToolCallResult, f"close the question ({tool_call_id})")

    async def _hand_slot_to(self, workflow_id: str) -> None:
        try:
            # Sent even if a stop (an interrupting send) cancels this workflow meanwhile: the slot is already theirs.
            await run_to_completion(workflow.get_external_workflow_handle(workflow_id).signal(SLOT_GRANTED_SIGNAL))
        except FailureError:
            # Not started yet: its own claim check at start will find the slot already its own.
            workflow.logger.info("queued turn %s not running yet; it will claim the slot itself", workflow_id)
