"""Inputs of the per-session sandbox lifecycle workflow and its activities."""

from __future__ import annotations

from dataclasses import dataclass, field

SANDBOX_LIFECYCLE_WORKFLOW = "SandboxLifecycle"
PROVISION_SANDBOX = "turnflow.provision_sandbox"
HIBERNATE_SANDBOX = "turnflow.hibernate_sandbox"
TEARDOWN_SANDBOX = "turnflow.teardown_sandbox"
TURN_STARTED_SIGNAL = "turn_started"
TURN_FINISHED_SIGNAL = "turn_finished"
SESSION_ARCHIVED_SIGNAL = "session_archived"


def sandbox_workflow_id(session_id: str) -> str:
    return f"sandbox:{session_id}"


@dataclass(frozen=True)
class SandboxLifecycleInput:
    session_id: str
    idle_hibernate_s: float
    # Carried across continue-as-new.
    state: str | None = None
    active_turns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SandboxRef:
    session_id: str


@dataclass(frozen=True)
class SandboxStateResult:
    state: str
