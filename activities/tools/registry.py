"""The tools a turn may call, by name."""

from __future__ import annotations

from typing import Any

from activities.tools.base import Tool
from activities.tools.bash import BASH
from activities.tools.questions import question_spec
from activities.tools.triage import UPDATE_TRIAGE
from activities.tools.workspace_files import LIST_FILES, READ_FILE, WRITE_FILE

TOOLS: dict[str, Tool[Any]] = {tool.name: tool for tool in (BASH, READ_FILE, WRITE_FILE, LIST_FILES, UPDATE_TRIAGE)}


def tool_specs() -> list[dict[str, Any]]:
    """What the model may call: the tools run as activities, and the question the turn waits on."""
    return [*(tool.spec() for tool in TOOLS.values()), question_spec()]
