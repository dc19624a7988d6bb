"""Closed vocabularies stored as text with CHECK constraints."""

from __future__ import annotations

from enum import StrEnum


class SessionType(StrEnum):
    CHAT = "chat"
    GUIDED = "guided"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    REQUESTING_ESCALATION = "requesting_escalation"
    ABANDONED = "abandoned"
    ARCHIVED = "archived"


class SandboxState(StrEnum):
    PROVISIONING = "provisioning"
    READY = "ready"
    HIBERNATED = "hibernated"
    STOPPED = "stopped"
    FAILED = "failed"


class MessageRole(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"
    FAILED = "failed"


class TurnStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"


# A turn in one of these has ended; in one of the others it still holds (or waits for) its chat's slot.
FINAL_TURN_STATUSES = frozenset({TurnStatus.COMPLETED, TurnStatus.STOPPED, TurnStatus.FAILED})
LIVE_TURN_STATUSES = frozenset({TurnStatus.QUEUED, TurnStatus.RUNNING, TurnStatus.WAITING})


class ToolCallStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    # A question to the user, waiting for the answer.
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"


class Outcome(StrEnum):
    """How a model step, a turn or a sub-agent ended."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"


class AgentType(StrEnum):
    MAIN = "main"
    SUBAGENT = "subagent"


# Which status a session may move to from each status. Archiving is its own action (archive/unarchive).
SESSION_TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.ACTIVE: frozenset(
        {
            SessionStatus.PAUSED,
            SessionStatus.RESOLVED,
            SessionStatus.ESCALATED,
            SessionStatus.REQUESTING_ESCALATION,
            SessionStatus.ABANDONED,
        }
    ),
    SessionStatus.PAUSED: frozenset(
        {SessionStatus.ACTIVE, SessionStatus.RESOLVED, SessionStatus.ESCALATED, SessionStatus.ABANDONED}
    ),
    SessionStatus.REQUESTING_ESCALATION: frozenset(
        {SessionStatus.ACTIVE, SessionStatus.ESCALATED, SessionStatus.RESOLVED}
    ),
    SessionStatus.ESCALATED: frozenset({SessionStatus.ACTIVE, SessionStatus.RESOLVED}),
    SessionStatus.RESOLVED: frozenset({SessionStatus.ACTIVE}),
    SessionStatus.ABANDONED: frozenset({SessionStatus.ACTIVE}),
    SessionStatus.ARCHIVED: frozenset(),
}


def can_transition(current: SessionStatus, target: SessionStatus) -> bool:
    """True when a session in `current` may move to `target` (staying put is always allowed)."""
    return current == target or target in SESSION_TRANSITIONS[current]
