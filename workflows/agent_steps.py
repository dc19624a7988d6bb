"""The agent loop (streamed model steps and their tool calls until the model stops) and the options that make its
activities durable; shared by a turn and the sub-agents it starts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from workflows.sandbox_routing import on_sandbox_host

with workflow.unsafe.imports_passed_through():
    from models.enums import Outcome
    from models.names import (
        MODEL_ERROR_PREFIX,
        OUTCOME_ATTRIBUTE_PATCH,
        RUN_TOOL_CALL,
        STREAM_MODEL_STEP,
        TURN_STOPPED_ERROR,
    )
    from models.search_attributes import OUTCOME
    from models.turns import ModelStepInput, ModelStepResult, ToolCallInput, ToolCallRef, ToolCallResult

# A crashed worker is noticed when its heartbeats stop: a short timeout puts the retry on another worker within
# seconds. Activities beat every 0.5 s and the worker sends them at most 0.5 s late (worker.py), so a live one
# has a second and a half of slack.
HEARTBEAT_TIMEOUT = timedelta(seconds=2)
# The first retry comes at once after a crash (a survivor fails the dead worker's attempt); later ones back off.
MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    backoff_coefficient=2,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=6,
)
TOOL_RETRY = RetryPolicy(maximum_attempts=3)
BOOKKEEPING_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
T = TypeVar("T")


async def model_step(turn_id: str, step: int, model: str, label: str = "") -> ModelStepResult:
    """One streamed model call; retried on another worker if this one dies."""
    result: ModelStepResult = await workflow.execute_activity(
        STREAM_MODEL_STEP,
        ModelStepInput(turn_id, step, model),
        result_type=ModelStepResult,
        start_to_close_timeout=timedelta(minutes=10),
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        retry_policy=MODEL_RETRY,
        summary=f"{label}step {step}: stream {model}",
    )
    return result


async def tool_call(turn_id: str, session_id: str, tool_call_id: str, tool_name: str) -> ToolCallResult:
    """One tool call, on the worker holding the session's sandbox; a failed tool is an output for the model, not a
    failed turn."""
    return await on_sandbox_host(
        session_id,
        RUN_TOOL_CALL,
        ToolCallInput(turn_id, tool_call_id, tool_name, session_id),
        ToolCallResult,
        start_to_close_timeout=timedelta(minutes=11),
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        retry_policy=TOOL_RETRY,
        summary=f"tool {tool_name} ({tool_call_id})",
    )


async def bookkeeping(name: str, arg: object, result_type: type[T], summary: str, timeout_s: float = 30) -> T:
    """A short database activity the turn cannot go on without: retried until it succeeds."""
    result: T = await workflow.execute_activity(
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=timedelta(seconds=timeout_s),
        retry_policy=BOOKKEEPING_RETRY,
        summary=summary,
    )
    return result


async def together(operations: list[Awaitable[T]]) -> list[T]:
    """Runs a step's tool calls in parallel; if one fails the turn, the others are cancelled rather than left
    writing to a stream that has ended."""
    running = [asyncio.ensure_future(operation) for operation in operations]
    try:
        return await asyncio.gather(*running)
    except BaseException:
        for task in running:
            task.cancel()
        raise


async def run_to_completion(operation: Awaitable[T]) -> T:
    """Finishes even if a stop's cancellation arrives meanwhile: what it saves must be saved."""
    running = asyncio.ensure_future(operation)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        return await running


@dataclass
class LoopEnd:
    """How an agent loop ended; `cancelled` when a stop reached the workflow itself (Canceled in the Temporal UI)."""

    outcome: Outcome = Outcome.COMPLETED
    finish_reason: str | None = None
    error: str | None = None
    steps: int = 0
    cancelled: bool = False


async def run_agent_loop(
    turn_id: str,
    model: str,
    max_steps: int,
    run_call: Callable[[ToolCallRef], Awaitable[ToolCallResult]],
    label: str = "",
) -> LoopEnd:
    """Model steps, each followed by its tool calls in parallel, until the model answers without a tool or the
    step limit is reached; a stop or a failed activity ends the loop, never the caller's cleanup."""
    end = LoopEnd()
    try:
        for step in range(1, max_steps + 1):
            end.steps = step
            workflow.set_current_details(f"{label}step {step}: {model} is answering")
            result = await model_step(turn_id, step, model, label)
            end.finish_reason = result.stop_reason
            if not result.tool_calls:
                break
            tools = ", ".join(f"{call.tool_name} ({call.tool_call_id})" for call in result.tool_calls)
            workflow.set_current_details(f"{label}step {step}: running {tools}")
            await together([run_call(call) for call in result.tool_calls])
        else:
            end.finish_reason = "step-limit"
    except asyncio.CancelledError:
        end.outcome, end.cancelled = Outcome.STOPPED, True
    except ActivityError as exc:
        end.outcome, end.error = outcome_of(exc)
    return end


def record_outcome(end: LoopEnd) -> None:
    """How the loop ended, as the workflow's current details and its outcome search attribute, so a stopped turn
    reads as stopped in the Temporal UI and can be searched for (the upsert is a patch: older runs replay without
    it)."""
    workflow.set_current_details(f"{end.outcome} after {end.steps} step(s)")
    if workflow.patched(OUTCOME_ATTRIBUTE_PATCH):
        workflow.upsert_search_attributes([OUTCOME.value_set(end.outcome.value)])


def outcome_of(exc: ActivityError) -> tuple[Outcome, str | None]:
    """Stopped (by the fast path's TurnStopped, or Temporal's cancellation reaching the activity first) or failed.

    The error text reaches the client: a model's own errors are shown; anything else is reported generically
    (the worker logged the details with the turn's ids)."""
    cause = exc.cause
    if isinstance(cause, CancelledError) or (isinstance(cause, ApplicationError) and cause.type == TURN_STOPPED_ERROR):
        return Outcome.STOPPED, None
    if isinstance(cause, ApplicationError) and (cause.type or "").startswith(MODEL_ERROR_PREFIX):
        return Outcome.FAILED, cause.message
    return Outcome.FAILED, "the turn failed on an internal error; it is logged, and sending again may work"
