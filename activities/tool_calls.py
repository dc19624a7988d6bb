"""Runs one tool call. Its saved result and its stream event are written in one transaction, so a retry finds
the result and never runs a completed call again."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.heartbeats import heartbeating
from activities.sandbox.base import Limits, Sandbox
from activities.sandbox.host import SandboxHost, SandboxUnready
from activities.stop_listener import StopListener, TurnStopped, stopped_error
from activities.telemetry import tool_call_span
from activities.tools.base import ToolContext, ToolFailure
from activities.tools.registry import TOOLS
from models.enums import ToolCallStatus
from models.names import RUN_TOOL_CALL
from models.settings import Settings
from models.tables import Session
from models.turns import ToolCallInput, ToolCallResult
from turnlog import chunks
from turnlog.append import append_chunks
from turnlog.writer import EventWriter

_log = logging.getLogger("turnflow.tool_calls")
MAX_OUTPUT_CHARS = 100_000

_CLAIM = text(
    """
    UPDATE tool_calls c SET status = 'running', attempts = c.attempts + 1, started_at = COALESCE(c.started_at, now())
    FROM turns t
    WHERE c.turn_id = :turn_id AND c.tool_call_id = :tool_call_id AND t.id = c.turn_id
    RETURNING c.input, c.error_text, t.session_id, t.parent_turn_id,
        t.stop_requested_at IS NOT NULL OR EXISTS (
            SELECT 1 FROM turns p WHERE p.id = t.parent_turn_id AND p.stop_requested_at IS NOT NULL
        ) AS stop
    """
)
_SESSION_OF = text("SELECT session_id FROM turns WHERE id = :turn_id")
_FIND = text("SELECT status FROM tool_calls WHERE turn_id = :turn_id AND tool_call_id = :tool_call_id FOR UPDATE")
_SAVE = text(
    """
    UPDATE tool_calls SET status = :status, output = CAST(:output AS jsonb), error_text = :error_text,
        finished_at = now()
    WHERE turn_id = :turn_id AND tool_call_id = :tool_call_id
    """
)


class ToolCallActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings, stops: StopListener, host: SandboxHost) -> None:
        self._engine = engine
        self._stops = stops
        self._host = host
        self._limits = Limits(
            memory_bytes=settings.sandbox_memory_mb * 1024 * 1024, processes=settings.sandbox_max_processes
        )

    @activity.defn(name=RUN_TOOL_CALL)
    async def run_tool_call(self, params: ToolCallInput) -> ToolCallResult:
        """Heartbeats from its first line: a call waiting for a database connection is alive, not retried."""
        async with heartbeating():
            with tool_call_span(params) as span:
                return span.finish(await self._call(params))

    async def _call(self, params: ToolCallInput) -> ToolCallResult:
        session_id = params.session_id or await self._session_of(params.turn_id)
        # The sandbox first, before the call counts as started: sent to a worker that does not hold the sandbox,
        # it never starts here; and the sandbox is not packed away while the call runs.
        try:
            async with self._host.using(session_id) as sandbox:
                return await self._run_once(params, sandbox, None)
        except SandboxUnready as exc:
            return await self._run_once(params, None, str(exc))

    async def _session_of(self, turn_id: str) -> str:
        async with self._engine.connect() as conn:
            session_id = await conn.scalar(_SESSION_OF, {"turn_id": turn_id})
        if session_id is None:
            raise LookupError(f"no turn {turn_id}")
        return str(session_id)

    async def _run_once(self, params: ToolCallInput, sandbox: Sandbox | None, unready: str | None) -> ToolCallResult:
        """Runs the call unless an earlier attempt finished it, or started it and it is not safe to run again."""
        keys = {"turn_id": params.turn_id, "tool_call_id": params.tool_call_id}
        async with self._engine.begin() as conn:
            status = (await conn.execute(_FIND, keys)).scalar_one_or_none()
            if status is None:
                raise LookupError(f"no tool call {params.tool_call_id} in turn {params.turn_id}")
            if status in (ToolCallStatus.COMPLETED, ToolCallStatus.FAILED):
                return ToolCallResult(ok=status == ToolCallStatus.COMPLETED)
            claimed = (await conn.execute(_CLAIM, keys)).one()
        tool = TOOLS.get(params.tool_name)
        output: dict[str, Any] | None
        error: str | None
        if status == ToolCallStatus.RUNNING and tool is not None and not tool.idempotent:
            # An earlier attempt started it and died: its effects may have happened, so it is not run again.
            output, error = None, f"{params.tool_name} was interrupted by a worker failure and is not safe to re-run"
        else:
            watched = [params.turn_id, *([str(claimed.parent_turn_id)] if claimed.parent_turn_id else [])]
            try:
                if claimed.stop:  # a stop came before this call began
                    raise TurnStopped(params.turn_id)
                async with self._stops.watch(*watched):
                    output, error = await self._run(params, claimed, sandbox, unready)
            except TurnStopped:
                await self._save(params, None, "stopped before it finished")
                raise stopped_error(params.turn_id) from None
        await self._save(params, output, error)
        return ToolCallResult(ok=error is None)

    async def _save(self, params: ToolCallInput, output: dict[str, Any] | None, error: str | None) -> None:
        keys = {"turn_id": params.turn_id, "tool_call_id": params.tool_call_id}
        async with self._engine.begin() as conn:
            # Appending locks the turn row, so it comes before the tool call's update (turnlog/lock_order.py).
            await append_chunks(conn, params.turn_id, [chunks.tool_result(params.tool_call_id, output, error)])
            await conn.execute(
                _SAVE,
                keys
                | {
                    "status": ToolCallStatus.FAILED if error is not None else ToolCallStatus.COMPLETED,
                    "output": json.dumps(output) if error is None else None,
                    "error_text": error,
                },
            )

    async def _run(
        self, params: ToolCallInput, claimed: Any, sandbox: Sandbox | None, unready: str | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The tool's output, or the error text the model and the client will see."""
        tool = TOOLS.get(params.tool_name)
        if tool is None:
            return None, f"unknown tool {params.tool_name!r}; available: {', '.join(TOOLS)}"
        if claimed.error_text:
            return None, str(claimed.error_text)
        if sandbox is None:
            return None, unready
        try:
            async with EventWriter(self._engine, params.turn_id) as progress:
                context = ToolContext(
                    sandbox=sandbox,
                    limits=self._limits,
                    turn_id=params.turn_id,
                    tool_call_id=params.tool_call_id,
                    progress=lambda so_far: progress.emit(
                        chunks.tool_output(params.tool_call_id, so_far, preliminary=True)
                    ),
                    emit=progress.emit,
                    save_triage=lambda changes: self._save_triage(str(claimed.session_id), changes),
                )
                output = await tool.invoke(context, claimed.input)
        except ToolFailure as exc:
            return None, str(exc)
        except OSError as exc:
            _log.warning("turn %s tool %s failed: %s", params.turn_id, params.tool_call_id, exc)
            return None, f"{params.tool_name} failed: {exc.strerror or exc}"
        encoded = json.dumps(output)
        if len(encoded) > MAX_OUTPUT_CHARS:
            return None, f"{params.tool_name} produced {len(encoded)} characters; the limit is {MAX_OUTPUT_CHARS}"
        return output, None

    async def _save_triage(self, session_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        values = {("triage_hypothesis" if k == "hypothesis" else k): v for k, v in changes.items()}
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(Session)
                    .where(Session.id == session_id)
                    .values(**values, updated_at=func.now())
                    .returning(
                        Session.client_name,
                        Session.asset_name,
                        Session.issue_category,
                        Session.triage_hypothesis,
                        Session.evidence_items,
                    )
                )
            ).one()
        return {
            "clientName": row.client_name,
            "assetName": row.asset_name,
            "issueCategory": row.issue_category,
            "hypothesis": row.triage_hypothesis,
            "evidenceItems": row.evidence_items,
        }
