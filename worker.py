"""Builds the turnflow Worker: which workflows, which activities, which task queue."""

from __future__ import annotations

from datetime import timedelta

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
from activities.sandbox.base import SandboxProvider
from activities.sandbox.providers import choose_provider
from activities.sandbox_lifecycle import SandboxLifecycleActivities
from activities.session_title import SessionTitleActivities
from activities.spend_digest import SpendDigestActivities
from activities.stop_listener import StopListener
from activities.subagents import SubAgentActivities
from activities.telemetry import ActivityMetrics
from activities.tool_calls import ToolCallActivities
from activities.turn_records import TurnRecordActivities
from activities.worker_presence import PresenceInterceptor, WorkerPresence
from models.database import session_factory
from models.settings import Settings
from workflows.chat_turn import ChatTurnWorkflow
from workflows.prune_turn_events import PruneTurnEventsWorkflow
from workflows.reconcile_turns import ReconcileTurnsWorkflow
from workflows.sandbox_lifecycle import SandboxLifecycleWorkflow
from workflows.session_summary import HandoffDraftWorkflow, SessionSummaryWorkflow
from workflows.spend_digest import SpendDigestWorkflow
from workflows.subagent import SubAgentWorkflow


def build_worker(
    client: Client,
    settings: Settings,
    engine: AsyncEngine,
    stops: StopListener,
    presence: WorkerPresence | None = None,
    sandboxes: SandboxProvider | None = None,
) -> Worker:
    """`stops` must be started: it is how a stop reaches a running activity within milliseconds. A started
    `presence` records the attempts this worker runs, so survivors retry them at once should it die. Without
    `sandboxes`, the one the settings choose."""
    retention = EventRetentionActivities(session_factory(engine))
    records = TurnRecordActivities(engine, settings)
    providers = provider_factory(settings)
    model = ModelStepActivities(engine, settings, providers, stops)
    sandboxes = sandboxes or choose_provider(settings)
    tools = ToolCallActivities(engine, settings, stops, sandboxes)
    lifecycle = SandboxLifecycleActivities(engine, settings, sandboxes)
    questions = QuestionActivities(engine, settings)
    subagents = SubAgentActivities(engine)
    titles = SessionTitleActivities(engine, settings, providers)
    drafts = HandoffDraftActivities(engine, settings, providers)
    digest = SpendDigestActivities(engine, settings)
    reconciler = ReconcileActivities(engine, settings)
    return Worker(
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
            tools.run_tool_call,
            questions.open_question,
            questions.close_question,
            subagents.start_subagent,
            subagents.finish_subagent,
            titles.summarize_session,
            drafts.draft_handoff,
            digest.post_spend_digest,
            lifecycle.provision_sandbox,
            lifecycle.hibernate_sandbox,
            lifecycle.teardown_sandbox,
            lifecycle.sync_workspace,
            retention.prune_turn_events,
            reconciler.reconcile_turns,
        ],
        # Outermost first: spans of workflows started by a traced client, never duplicated on replay (so activity log
        # lines carry the trace id); metrics; no SQL, parameters or exception text of an unexpected error entering a
        # history; and each attempt recorded, so that survivors retry it at once should this worker die.
        interceptors=[
            TracingInterceptor(),
            ActivityMetrics(),
            ErrorRedaction(),
            *([PresenceInterceptor(presence)] if presence is not None else []),
        ],
        # As many as the worker's database pool serves (turnflow/worker_process.py sizes it from the same setting).
        max_concurrent_activities=settings.worker_activity_slots,
        # A dead worker's cached workflows move to another worker after this, not the 10 s default.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
        # Heartbeats reach the server within half a second (the default holds them for 0.8 x the timeout), so the
        # short heartbeat timeout that finds dead workers quickly never mistakes a live one for dead.
        max_heartbeat_throttle_interval=timedelta(milliseconds=500),
        default_heartbeat_throttle_interval=timedelta(milliseconds=500),
    )
