"""The tools a turn may call, by name."""

from __future__ import annotations

import functools
from typing import Any

from activities.tools.base import Tool
from activities.tools.bash import BASH
from activities.tools.questions import question_spec
from activities.tools.task import task_spec
from activities.tools.triage import UPDATE_TRIAGE
from activities.tools.workspace_files import LIST_FILES, READ_FILE, WRITE_FILE

TOOLS: dict[str, Tool[Any]] = {tool.name: tool for tool in (BASH, READ_FILE, WRITE_FILE, LIST_FILES, UPDATE_TRIAGE)}


@functools.cache
def tool_specs(subagent: bool = False) -> tuple[dict[str, Any], ...]:
    """What the model may call: the tools run as activities and, for a turn's own agent, the question it waits
    on and the sub-agents it may start (a sub-agent neither asks the user nor starts sub-agents). Built once:
    generating the JSON schemas costs milliseconds that would sit in front of every first token."""
    specs = [tool.spec() for tool in TOOLS.values()]
    return tuple(specs if subagent else [*specs, question_spec(), task_spec()])
