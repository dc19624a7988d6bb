"""The model step: streams one model call into the turn's stream log and records its tool calls and usage."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

import anthropic
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.continuation import Resume, continuation_messages, plan_resume
from activities.conversation import to_model_messages
from activities.heartbeats import heartbeating
from activities.model.errors import to_application_error
from activities.model.events import ModelProvider, ModelRequest
from activities.step_chunks import StepChunks
from activities.stop_listener import StopListener, TurnStopped, stopped_error
from activities.telemetry import model_attempt_span, record_model_attempt
from activities.tools.registry import tool_specs
from activities.turn_context import TurnContext, load_step_start, load_turn
from activities.usage_ledger import UsageRecord, record_usage
from models.enums import Outcome
from models.names import STREAM_MODEL_STEP
from models.settings import Settings
from models.tables import ToolCall, TurnStep
from models.turns import ModelStepInput, ModelStepResult, ToolCallRef
from turnlog import chunks
from turnlog.append import Fence, append_chunks, claim_stream
from turnlog.chunks import Chunk
from turnlog.writer import EventWriter

PROGRESS_EVERY_S = 0.3
# Each progress chunk replaces the last; only the latest text is worth storing and sending.
PROGRESS_TAIL_CHARS = 2000

_STEP_DONE = text(
    """
    UPDATE turns SET step_count = GREATEST(step_count, :step),
        first_token_at = COALESCE(first_token_at, to_timestamp(CAST(:first_text_at AS double precision)))
    WHERE id = :turn_id
    """
)


async def _record_step(
    conn: AsyncConnection,
    turn: TurnContext,
    params: ModelStepInput,
    attempt: int,
    streamed: StepChunks,
    outcome: Outcome,
    error: str | None,
) -> None:
    now = time.time()
    finish_reason = streamed.stop_reason if outcome == Outcome.COMPLETED else None
    record_model_attempt(turn, params, streamed.usage, finish_reason, outcome)
    turn_id, agent_type, agent_call_id = turn.accounting
    await conn.execute(
        insert(TurnStep)
        .values(
            turn_id=turn_id,
            agent_call_id=agent_call_id or "",
            agent_type=agent_type.value,
            step=params.step,
            attempt=attempt,
            model=params.model,
            outcome=outcome.value,
            finish_reason=finish_reason,
            tool_count=len(streamed.tool_calls),
            duration_ms=round((now - streamed.started_at) * 1000, 3),
            ttft_ms=round((streamed.first_text_at - streamed.started_at) * 1000, 3) if streamed.first_text_at else None,
            error=error,
            started_at=datetime.fromtimestamp(streamed.started_at, UTC),
        )
        .on_conflict_do_nothing()
    )


def _opening_chunks(resume: Resume | None) -> list[Chunk]:
    """A fresh step opens a step part; a continued one goes on inside the step its first attempt opened."""
    if resume is None:
        return [chunks.start_step()]
    if resume.restart_chunks:
        return [*resume.restart_chunks, chunks.start_step()]
    return []


class ModelStepActivities:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        provider_for: Callable[[str], ModelProvider],
        stops: StopListener,
    ) -> None:
        self._engine = engine
        self._stops = stops
        self._settings = settings
        self._provider_for = provider_for
        # The default model's client is made now, not by the first step this worker runs (tens of ms, more on a
        # busy host): a step retried here after another worker died does not wait for it.
        with contextlib.suppress(ApplicationError):
            provider_for(settings.default_model())

    @activity.defn(name=STREAM_MODEL_STEP)
    async def stream_model_step(self, params: ModelStepInput) -> ModelStepResult:
        """Heartbeats from its first line: a step waiting for a database connection is alive, not retried."""
        async with heartbeating():
            with model_attempt_span(params):
                return await self._step(params)

    async def _step(self, params: ModelStepInput) -> ModelStepResult:
        info = activity.info()
        # Claimed before the log is read: an earlier attempt still writing is fenced off from here on, and all it
        # wrote before is seen below.
        fence = Fence(params.turn_id, f"{params.step}:{info.attempt}")
        try:
            # Watched from before the stop flag is read: a stop arriving while loading is not missed. From the
            # end of loading to the watch below nothing awaits, so no notification can slip in between.
            async with self._stops.watch(params.turn_id), self._engine.begin() as conn:
                await claim_stream(conn, fence)
                turn = await load_turn(conn, params.turn_id)
                start = await load_step_start(conn, turn, params.step)
                if any(c.get("type") == "finish-step" for c in start.earlier_attempts):
                    # An earlier attempt finished and saved the step, then died before reporting it.
                    return await self._saved_result(conn, turn, params.step)
        except TurnStopped:
            raise stopped_error(params.turn_id) from None
        resume = plan_resume(start.earlier_attempts, info.attempt)
        messages = to_model_messages(start.history)
        if resume is not None and resume.continues:
            messages = continuation_messages(messages, resume.partial_text, params.model)
        request = ModelRequest(
            model=params.model,
            system=self._settings.system_prompt,
            messages=messages,
            tools=list(tool_specs(subagent=turn.parent_turn_id is not None)),
            max_tokens=self._settings.max_output_tokens,
        )
        streamed = StepChunks(params.step, info.attempt, resume)
        try:
            if turn.stop_requested:  # a stop came before this step began: do not start the model at all
                raise TurnStopped(params.turn_id)
            async with (
                self._stops.watch(*turn.watched_ids),
                EventWriter(self._engine, params.turn_id, fence) as log,
            ):
                for chunk in _opening_chunks(resume):
                    log.emit(chunk)
                try:
                    await self._stream(request, streamed, log, turn, params.step, fence)
                except BaseException:
                    for chunk in streamed.open_parts():  # cut short mid-part: close it for the client
                        log.emit(chunk)
                    raise
        except TurnStopped:
            await self._record_cut_short(turn, params, info.attempt, streamed, Outcome.STOPPED, None)
            raise stopped_error(params.turn_id) from None
        except asyncio.CancelledError:
            if not activity.is_worker_shutdown():
                # Temporal's cancellation reached the step before the stop notification: the same stop, whose
                # tokens were billed all the same.
                await self._record_cut_short(turn, params, info.attempt, streamed, Outcome.STOPPED, None)
            raise
        except anthropic.AnthropicError as exc:
            error = to_application_error(exc)
            await self._record_cut_short(turn, params, info.attempt, streamed, Outcome.FAILED, error.message)
            raise error from exc
        # One transaction: a log that shows the step finished always has its tool calls and usage saved.
        async with self._engine.begin() as conn:
            await self._record_tool_calls(conn, turn, params, streamed)
            await self._record_usage(conn, turn, params, info.attempt, streamed)
            await _record_step(conn, turn, params, info.attempt, streamed, Outcome.COMPLETED, None)
            await append_chunks(conn, params.turn_id, [chunks.finish_step()], fence)
        return ModelStepResult(
            stop_reason=streamed.stop_reason,
            tool_calls=[ToolCallRef(c.tool_call_id, c.tool_name) for c in streamed.tool_calls],
        )

    async def _saved_result(self, conn: AsyncConnection, turn: TurnContext, step: int) -> ModelStepResult:
        rows = (
            await conn.execute(
                select(ToolCall.tool_call_id, ToolCall.tool_name)
                .where(ToolCall.turn_id == turn.turn_id, ToolCall.step == step)
                .order_by(ToolCall.created_at)
            )
        ).all()
        calls = [ToolCallRef(r.tool_call_id, r.tool_name) for r in rows]
        return ModelStepResult(stop_reason="tool_use" if calls else "end_turn", tool_calls=calls)

    async def _stream(
        self,
        request: ModelRequest,
        streamed: StepChunks,
        log: EventWriter,
        turn: TurnContext,
        step: int,
        fence: Fence,
    ) -> None:
        last_progress = time.monotonic()
        events = self._provider_for(request.model).stream(request)
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(contextlib.aclosing(events))
            parent = None
            if turn.parent_turn_id is not None and turn.agent_call_id is not None:
                parent = await stack.enter_async_context(EventWriter(self._engine, str(turn.parent_turn_id), fence))
            async for event in events:
                for chunk in streamed.on(event):
                    log.emit(chunk)
                now = time.monotonic()
                if (
                    parent is not None
                    and turn.agent_call_id
                    and now - last_progress >= PROGRESS_EVERY_S
                    and streamed.text
                ):
                    # The parent's stream shows the sub-agent at work, as the task's preliminary output.
                    progress = {"status": "working", "step": step, "text": streamed.text[-PROGRESS_TAIL_CHARS:]}
                    parent.emit(chunks.tool_output(turn.agent_call_id, progress, preliminary=True))
                    last_progress = now

    async def _record_cut_short(
        self,
        turn: TurnContext,
        params: ModelStepInput,
        attempt: int,
        streamed: StepChunks,
        outcome: Outcome,
        error: str | None,
    ) -> None:
        """A call cut short still cost what the provider reported so far, and still counts in telemetry."""
        async with self._engine.begin() as conn:
            await self._record_usage(conn, turn, params, attempt, streamed)
            await _record_step(conn, turn, params, attempt, streamed, outcome, error)

    async def _record_tool_calls(
        self, conn: AsyncConnection, turn: TurnContext, params: ModelStepInput, streamed: StepChunks
    ) -> None:
        """Inserted once: a retried step that produced the same calls adds nothing."""
        if streamed.tool_calls:
            rows = [
                {
                    "turn_id": turn.turn_id,
                    "tool_call_id": c.tool_call_id,
                    "step": params.step,
                    "tool_name": c.tool_name,
                    "input": c.input,
                    "error_text": c.input_error,
                }
                for c in streamed.tool_calls
            ]
            await conn.execute(insert(ToolCall).values(rows).on_conflict_do_nothing())

    async def _record_usage(
        self, conn: AsyncConnection, turn: TurnContext, params: ModelStepInput, attempt: int, streamed: StepChunks
    ) -> None:
        """One row per call attempt (the dedupe key holds the attempt), so a retried write lands once."""
        turn_id, agent_type, agent_call_id = turn.accounting
        record = UsageRecord(
            dedupe_key=f"turn:{turn.turn_id}:step:{params.step}:attempt:{attempt}",
            account_id=turn.account_id,
            session_id=turn.session_id,
            model=params.model,
            usage=streamed.usage,
            agent_type=agent_type,
            turn_id=turn_id,
            chat_id=turn.chat_id,
            tool_call_id=agent_call_id,
        )
        if not await record_usage(conn, record):
            return  # refused before it began
        await conn.execute(
            _STEP_DONE, {"turn_id": turn.turn_id, "step": params.step, "first_text_at": streamed.first_text_at}
        )
