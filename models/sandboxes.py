"""Inputs of the per-session sandbox lifecycle workflow and its activities."""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class WorkspaceSyncResult:
    """`uploaded`: file contents new to the store; `changed`: the session's snapshot now differs from before."""

    uploaded: int = 0
    changed: bool = False


@dataclass(frozen=True)
class SandboxPlacement:
    """The task queue of the live worker holding the session's sandbox; None: no worker holds it, and the
    workflow's own (shared) queue takes its next sandbox activity."""

    task_queue: str | None = None
