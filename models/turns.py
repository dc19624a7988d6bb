"""Inputs and results of the turn workflow and its activities: ids and small facts, never transcripts."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.enums import Outcome

# The tool the model calls to ask the user; the workflow waits for the answer instead of running an activity.
ASK_USER_QUESTION_TOOL = "ask_user_question"
# The tool that hands a piece of work to a sub-agent, run as a child workflow.
TASK_TOOL = "task"


def turn_workflow_id(chat_id: str, number: int) -> str:
    return f"turn:{chat_id}:{number}"


@dataclass(frozen=True)
class TurnInput:
    turn_id: str
    chat_id: str
    session_id: str
    account_id: str
    model: str
    max_steps: int = 8
    subagent_max_steps: int = 6
    # Queued behind another turn of the chat (enqueue / interrupt): wait for the slot before the first step.
    queued: bool = False


@dataclass(frozen=True)
class TurnRef:
    turn_id: str


@dataclass(frozen=True)
class ModelStepInput:
    turn_id: str
    step: int
    model: str


@dataclass(frozen=True)
class ToolCallRef:
    tool_call_id: str
    tool_name: str


@dataclass(frozen=True)
class ModelStepResult:
    stop_reason: str
    tool_calls: list[ToolCallRef] = field(default_factory=list)


@dataclass(frozen=True)
class ToolCallInput:
    turn_id: str
    tool_call_id: str
    tool_name: str
    session_id: str = ""  # whose sandbox runs it (empty in histories from before sandboxes had holders)


@dataclass(frozen=True)
class ToolCallResult:
    ok: bool


@dataclass(frozen=True)
class QuestionOpened:
    waiting: bool
    timeout_s: float = 0.0


@dataclass(frozen=True)
class FinishTurnInput:
    turn_id: str
    outcome: Outcome
    finish_reason: str | None = None
    error: str | None = None
    steps: int = 0


@dataclass(frozen=True)
class FinishTurnResult:
    next_workflow_id: str | None = None


@dataclass(frozen=True)
class TurnResult:
    outcome: Outcome
    steps: int


@dataclass(frozen=True)
class SubAgentInput:
    parent_turn_id: str
    tool_call_id: str
    model: str
    max_steps: int


@dataclass(frozen=True)
class SubAgentStarted:
    turn_id: str
    session_id: str = ""  # its sandbox is the parent turn's session's (empty in histories from before)


@dataclass(frozen=True)
class FinishSubAgentInput:
    turn_id: str
    outcome: Outcome
    error: str | None = None
    steps: int = 0
