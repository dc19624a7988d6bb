"""Builds a turnflow worker: which workflows, which activities, which task queues."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.worker import Worker

from activities.error_redaction import ErrorRedaction
from activities.event_retention import EventRetentionActivities
from activities.handoff_drafts import HandoffDraftActivities
from activities.model.providers import provider_factory
from activities.model_step import ModelStepActivities
from activities.questions import QuestionActivities
from activities.reconciliation import ReconcileActivities
from activities.sandbox.base import Limits, SandboxProvider
from activities.sandbox.host import SandboxHost
from activities.sandbox.providers import choose_provider
from activities.sandbox_lifecycle import SandboxLifecycleActivities
from activities.sandbox_placement import SandboxPlacementActivities
from activities.session_title import SessionTitleActivities
from activities.spend_digest import SpendDigestActivities
from activities.step_handover import StepHandover
from activities.stop_listener import StopListener
from activities.subagents import SubAgentActivities
from activities.telemetry import ActivityMetrics
from activities.tool_calls import ToolCallActivities
from activities.turn_records import TurnRecordActivities
from activities.worker_presence import PresenceInterceptor, WorkerPresence
from models.database import session_factory
from models.names import host_task_queue
from models.settings import Settings
from workflows.chat_turn import ChatTurnWorkflow
from workflows.prune_turn_events import PruneTurnEventsWorkflow
from workflows.reconcile_turns import ReconcileTurnsWorkflow
from workflows.sandbox_lifecycle import SandboxLifecycleWorkflow
from workflows.session_summary import HandoffDraftWorkflow, SessionSummaryWorkflow
from workflows.spend_digest import SpendDigestWorkflow
from workflows.subagent import SubAgentWorkflow

LEAVE_GRACE = timedelta(seconds=Limits().wall_clock_s + 15)


class Workers:
    """A worker process's two Temporal workers: one on the shared task queue (workflows, model steps, bookkeeping,
    and sandbox activities of sessions no live worker holds) and one on its own queue (the tool calls and
    lifecycle of the sandboxes it holds). Shutting down (a clean leave) hands its model steps on, lets its tool
    calls finish, and packs its sandboxes into the snapshot store and lets them go."""

    def __init__(self, shared: Worker, host: Worker, sandboxes: SandboxHost) -> None:
        self.shared = shared
        self.host = host
        self.sandboxes = sandboxes
        self._running: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Workers:
        self._running = asyncio.create_task(self.run())
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.shutdown()
        if self._running is not None:
            await self._running

    async def run(self) -> None:
        async with asyncio.TaskGroup() as running:
            running.create_task(self.shared.run())
            running.create_task(self.host.run())

    async def shutdown(self) -> None:
        """Packing starts with the drain: a sandbox no tool call is using is let go at once (so its next call goes
        to a worker that stays), one in use as soon as its calls end. Whatever was taken meanwhile is packed after."""
        await asyncio.gather(self.shared.shutdown(), self.host.shutdown(), self.sandboxes.leave())
        await self.sandboxes.leave()


def build_worker(
    client: Client,
    settings: Settings,
    engine: AsyncEngine,
    stops: StopListener,
    presence: WorkerPresence,
    sandboxes: SandboxProvider | None = None,
) -> Workers:
    """`stops` must be started: it is how a stop reaches a running activity within milliseconds. `presence` must be
    started too: it names this worker (its own task queue) and records the attempts it runs, so survivors retry
    them at once should it die. Without `sandboxes`, the provider the settings choose."""
    retention = EventRetentionActivities(session_factory(engine))
    records = TurnRecordActivities(engine, settings)
    providers = provider_factory(settings)
    model = ModelStepActivities(engine, settings, providers, stops)
    host = SandboxHost(engine, settings, sandboxes or choose_provider(settings), presence.worker_id)
    tools = ToolCallActivities(engine, settings, stops, host)
    lifecycle = SandboxLifecycleActivities(host)
    placement = SandboxPlacementActivities(engine)
    questions = QuestionActivities(engine, settings)
    subagents = SubAgentActivities(engine)
    titles = SessionTitleActivities(engine, settings, providers)
    drafts = HandoffDraftActivities(engine, settings, providers)
    digest = SpendDigestActivities(engine, settings)
    reconciler = ReconcileActivities(engine, settings)
    sandbox_activities: list[Callable[..., Any]] = [
        tools.run_tool_call,
        lifecycle.provision_sandbox,
        lifecycle.hibernate_sandbox,
        lifecycle.teardown_sandbox,
        lifecycle.sync_workspace,
    ]
    options = _worker_options(settings, presence)
    shared = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[
            ChatTurnWorkflow,
            SubAgentWorkflow,
            SandboxLifecycleWorkflow,
            SessionSummaryWorkflow,
            HandoffDraftWorkflow,
            SpendDigestWorkflow,
            PruneTurnEventsWorkflow,
            ReconcileTurnsWorkflow,
        ],
        activities=[
            records.begin_turn,
            records.claim_queued_slot,
            records.finish_turn,
            model.stream_model_step,
            questions.open_question,
            questions.close_question,
            subagents.start_subagent,
            subagents.finish_subagent,
            titles.summarize_session,
            drafts.draft_handoff,
            digest.post_spend_digest,
            placement.place_sandbox,
            retention.prune_turn_events,
            reconciler.reconcile_turns,
            *sandbox_activities,
        ],
        # A dead worker's cached workflows move to another worker after this, not the 10 s default.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
        **options,
    )
    own = Worker(
        client,
        task_queue=host_task_queue(settings.task_queue, str(presence.worker_id)),
        activities=sandbox_activities,
        **options,
    )
    return Workers(shared, own, host)


def _worker_options(settings: Settings, presence: WorkerPresence) -> dict[str, Any]:
    return {
        # Outermost first: spans of workflows started by a traced client, never duplicated on replay (so activity
        # log lines carry the trace id); metrics; no SQL, parameters or exception text of an unexpected error
        # entering a history; each attempt recorded, so that survivors retry it at once should this worker die;
        # and model steps handed to another worker at once when this one leaves.
        "interceptors": [
            TracingInterceptor(),
            ActivityMetrics(),
            ErrorRedaction(),
            PresenceInterceptor(presence),
            StepHandover(),
        ],
        # On a clean leave, running tool calls finish (a command's wall-clock limit, and time to save its result)
        # rather than leave a half-run command that is not safe to run again.
        "graceful_shutdown_timeout": LEAVE_GRACE,
        # For each of the two: together, what the worker's database pool serves at its peak, pool plus overflow
        # (turnflow/worker_process.py sizes it from the same setting).
        "max_concurrent_activities": settings.worker_activity_slots,
        # Heartbeats reach the server within half a second (the default holds them for 0.8 x the timeout), so the
        # short heartbeat timeout that finds dead workers quickly never mistakes a live one for dead.
        "max_heartbeat_throttle_interval": timedelta(milliseconds=500),
        "default_heartbeat_throttle_interval": timedelta(milliseconds=500),
    }
