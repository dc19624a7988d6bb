"""One long-lived workflow per session that owns its sandbox: provisioned when a turn first needs it (beside the
turn's first model call, never in front of it), kept warm between turns, hibernated when idle, restored by the
next turn, and torn down when the session is archived, never while a turn is running."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.sandbox_routing import on_sandbox_host

with workflow.unsafe.imports_passed_through():
    from models.enums import SandboxState
    from models.names import (
        HIBERNATE_SANDBOX,
        PROVISION_SANDBOX,
        SANDBOX_LIFECYCLE_WORKFLOW,
        SESSION_ARCHIVED_SIGNAL,
        TEARDOWN_SANDBOX,
        TURN_FINISHED_SIGNAL,
        TURN_STARTED_SIGNAL,
    )
    from models.sandboxes import SandboxLifecycleInput, SandboxRef, SandboxStateResult

_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))


@workflow.defn(name=SANDBOX_LIFECYCLE_WORKFLOW)
class SandboxLifecycleWorkflow:
    def __init__(self) -> None:
        self._active: set[str] = set()
        self._archived = False
        self._changed = False

    @workflow.signal(name=TURN_STARTED_SIGNAL)
    def turn_started(self, turn_id: str) -> None:
        self._active.add(turn_id)
        self._changed = True

    @workflow.signal(name=TURN_FINISHED_SIGNAL)
    def turn_finished(self, turn_id: str) -> None:
        self._active.discard(turn_id)
        self._changed = True

    @workflow.signal(name=SESSION_ARCHIVED_SIGNAL)
    def session_archived(self) -> None:
        self._archived = True
        self._changed = True

    @workflow.run
    async def run(self, params: SandboxLifecycleInput) -> str:
        self._active.update(params.active_turns)
        state = params.state
        while True:
            if self._archived and not self._active:
                if state != SandboxState.STOPPED:
                    state = await self._step(TEARDOWN_SANDBOX, params.session_id, "archived: tear down")
                await workflow.wait_condition(workflow.all_handlers_finished)
                return state or SandboxState.STOPPED.value
            # A sandbox whose worker left or died since it was ready is restored by its next tool call.
            if self._active and state != SandboxState.READY:
                state = await self._step(PROVISION_SANDBOX, params.session_id, "provision or restore")
            self._changed = False
            idle = state == SandboxState.READY and not self._active
            timeout = timedelta(seconds=params.idle_hibernate_s) if idle else None
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            except TimeoutError:
                state = await self._step(HIBERNATE_SANDBOX, params.session_id, "idle: snapshot and stop")
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    SandboxLifecycleInput(params.session_id, params.idle_hibernate_s, state, sorted(self._active))
                )

    async def _step(self, activity_name: str, session_id: str, summary: str) -> str:
        result = await on_sandbox_host(
            session_id,
            activity_name,
            SandboxRef(session_id),
            SandboxStateResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=_RETRY,
            summary=summary,
        )
        return result.state
