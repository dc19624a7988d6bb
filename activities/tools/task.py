"""task: hands a self-contained piece of work to a sub-agent with its own model loop and tools."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from activities.tools.base import ToolInput, declaration
from models.turns import TASK_TOOL


class TaskInput(ToolInput):
    description: str = Field(min_length=1, max_length=200, description="A few words naming the work")
    prompt: str = Field(min_length=1, max_length=20_000, description="Everything the sub-agent needs to know")


def task_spec() -> dict[str, Any]:
    return declaration(
        TASK_TOOL,
        "Start a sub-agent for a self-contained piece of work; it can run commands and edit files, "
        "and its final answer comes back as this tool's output.",
        TaskInput,
    )
