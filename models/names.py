"""Every name that outlives a deploy: workflow, activity, signal and search-attribute names are written into
Temporal histories and visibility, channel names are shared by processes of different versions. Renaming one
breaks running turns, so each is chosen on purpose and lives here."""

from __future__ import annotations

# Workflows.
CHAT_TURN_WORKFLOW = "ChatTurn"
SUBAGENT_WORKFLOW = "SubAgent"
SANDBOX_LIFECYCLE_WORKFLOW = "SandboxLifecycle"
SESSION_SUMMARY_WORKFLOW = "SessionSummary"
HANDOFF_DRAFT_WORKFLOW = "HandoffDraft"
SPEND_DIGEST_WORKFLOW = "SpendDigest"
PRUNE_TURN_EVENTS_WORKFLOW = "PruneTurnEvents"
RECONCILE_TURNS_WORKFLOW = "ReconcileTurns"

# Activities.
BEGIN_TURN = "turnflow.begin_turn"
CLAIM_QUEUED_SLOT = "turnflow.claim_queued_slot"
STREAM_MODEL_STEP = "turnflow.stream_model_step"
RUN_TOOL_CALL = "turnflow.run_tool_call"
FINISH_TURN = "turnflow.finish_turn"
OPEN_QUESTION = "turnflow.open_question"
CLOSE_QUESTION = "turnflow.close_question"
START_SUBAGENT = "turnflow.start_subagent"
FINISH_SUBAGENT = "turnflow.finish_subagent"
PROVISION_SANDBOX = "turnflow.provision_sandbox"
HIBERNATE_SANDBOX = "turnflow.hibernate_sandbox"
TEARDOWN_SANDBOX = "turnflow.teardown_sandbox"
SYNC_WORKSPACE = "turnflow.sync_workspace"
PLACE_SANDBOX = "turnflow.place_sandbox"
SUMMARIZE_SESSION = "turnflow.summarize_session"
DRAFT_HANDOFF = "turnflow.draft_handoff"
POST_SPEND_DIGEST = "turnflow.post_spend_digest"
PRUNE_TURN_EVENTS = "turnflow.prune_turn_events"
RECONCILE_TURNS = "turnflow.reconcile_turns"

# Signals.
SLOT_GRANTED_SIGNAL = "slot_granted"
QUESTION_ANSWERED_SIGNAL = "question_answered"
TURN_STARTED_SIGNAL = "turn_started"
TURN_FINISHED_SIGNAL = "turn_finished"
SESSION_ARCHIVED_SIGNAL = "session_archived"

# Search attributes (registered on the Temporal namespace by `turnflow dev`).
CHAT_ID_ATTRIBUTE = "TurnflowChatId"
SESSION_ID_ATTRIBUTE = "TurnflowSessionId"
ACCOUNT_ID_ATTRIBUTE = "TurnflowAccountId"
# What a workflow is (one of WORKFLOW_KINDS), set when it starts; how a turn or sub-agent ended (an Outcome), set as
# it ends.
KIND_ATTRIBUTE = "TurnflowKind"
OUTCOME_ATTRIBUTE = "TurnflowOutcome"
SEARCH_ATTRIBUTES = (CHAT_ID_ATTRIBUTE, SESSION_ID_ATTRIBUTE, ACCOUNT_ID_ATTRIBUTE, KIND_ATTRIBUTE, OUTCOME_ATTRIBUTE)

# Values of KIND_ATTRIBUTE.
TURN_KIND = "turn"
SUBAGENT_KIND = "subagent"
SANDBOX_KIND = "sandbox"
HOUSEKEEPING_KIND = "housekeeping"
WORKFLOW_KINDS = (TURN_KIND, SUBAGENT_KIND, SANDBOX_KIND, HOUSEKEEPING_KIND)

# The workflow patch that upserts OUTCOME_ATTRIBUTE: turns started before it replay without it.
OUTCOME_ATTRIBUTE_PATCH = "outcome-search-attribute"

# The workflow patch that syncs a turn's workspace changes to the snapshot store before the turn finishes.
WORKSPACE_SYNC_PATCH = "workspace-sync"

# The workflow patch that routes a session's tool calls and sandbox lifecycle to the worker holding its sandbox.
SANDBOX_AFFINITY_PATCH = "sandbox-affinity"

# Schedules.
PRUNE_SCHEDULE_ID = "turnflow-prune-turn-events"
DIGEST_SCHEDULE_ID = "turnflow-spend-digest"
RECONCILE_SCHEDULE_ID = "turnflow-reconcile-turns"

# pg_notify channels. turn_events: "<turn id>:<last seq written>"; turn_control: the id of a turn to stop (the
# fast path of a stop: Temporal's cancellation reaches an activity only at its next heartbeat).
TURN_EVENTS_CHANNEL = "turn_events"
TURN_CONTROL_CHANNEL = "turn_control"
# "<draft id>:<notice json>": the text of handoff drafts, on one channel so each API process needs one LISTEN.
HANDOFF_DRAFTS_CHANNEL = "handoff_drafts"

# ApplicationError types. A stop ends an activity with TURN_STOPPED_ERROR; model failures' types start with
# MODEL_ERROR_PREFIX and their messages are meant for the user.
TURN_STOPPED_ERROR = "TurnStopped"
MODEL_ERROR_PREFIX = "Model"
# A survivor fails the attempts of a worker whose database session ended with this type (retryable), so Temporal
# retries them at once instead of after their heartbeat timeout.
WORKER_LOST_ERROR = "WorkerLost"
# A worker leaving cleanly ends its running model steps with this type (retryable): another worker continues them.
WORKER_LEAVING_ERROR = "WorkerLeaving"
# A sandbox activity reached a worker that does not hold the session's sandbox while another live one does: the
# workflow asks where the sandbox is again and sends it there.
SANDBOX_MOVED_ERROR = "SandboxMoved"
# pg_notify channel a database trigger sends a revoked API key's id on, so every API process refuses its browser
# tokens at once without a database read per request.
API_KEY_REVOKED_CHANNEL = "api_key_revoked"


def host_task_queue(task_queue: str, worker_id: str) -> str:
    """The task queue only one worker polls: the sandboxes it holds get their tool calls and lifecycle there."""
    return f"{task_queue}@{worker_id}"
