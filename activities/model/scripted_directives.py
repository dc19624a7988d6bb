"""What the offline model does when asked: a directive at the start of the user's message picks the tool it
calls, so every feature can be tried without an API key, through the same activities as Claude's calls.

    $ <command>                       run the command with bash
    /ask <question> | <option> | ...  ask the user, with quick-reply options
    /task <prompt>                    hand the prompt to a sub-agent
    /triage <field>: <value>; ...     update the triage header (client, asset, category, hypothesis, evidence)
    /slow <seconds>                   run a command that prints a line a second, for live output
    /file <path> <content>            write the file, then read it back
    anything else                     list the workspace with bash
"""

from __future__ import annotations

from typing import Any

from models.turns import ASK_USER_QUESTION_TOOL, TASK_TOOL

ToolCall = tuple[str, dict[str, Any]]
MAX_SLOW_S = 120
_TRIAGE_FIELDS = {
    "client": "client_name",
    "asset": "asset_name",
    "category": "issue_category",
    "hypothesis": "hypothesis",
}


def first_call(said: str) -> tuple[str, ToolCall]:
    """The reply's opening words and the tool it calls for the user's message."""
    directive, _, rest = said.partition(" ")
    rest = rest.strip()
    if said.startswith("$ "):
        return "Running your command.", ("bash", {"command": said[2:]})
    if directive == "/ask" and rest:
        question, *options = [piece.strip() for piece in rest.split("|")]
        asked: dict[str, Any] = {"question": question} | ({"options": [o for o in options if o]} if options else {})
        return "I need to ask you something first.", (ASK_USER_QUESTION_TOOL, asked)
    if directive == "/task" and rest:
        return "Handing this to a sub-agent.", (TASK_TOOL, {"description": rest[:60], "prompt": rest})
    if directive == "/triage" and rest:
        return "Updating the triage header.", ("update_triage", _triage(rest))
    if directive == "/slow":
        seconds = min(int(rest), MAX_SLOW_S) if rest.isdigit() else 5
        command = f'for i in $(seq {seconds}); do echo "step $i of {seconds}"; sleep 1; done'
        return f"Running a {seconds}-second command.", ("bash", {"command": command})
    if directive == "/file" and rest:
        path, _, content = rest.partition(" ")
        return f"Writing {path}.", ("write_file", {"path": path, "content": content})
    return f"You said: {said[:500]}. Let me look at the workspace first.", ("bash", {"command": "ls -la"})


def next_call(previous: ToolCall) -> ToolCall | None:
    """The call that follows a tool's result: a written file is read back; anything else is answered."""
    name, tool_input = previous
    if name == "write_file":
        return "read_file", {"path": tool_input["path"]}
    return None


def _triage(rest: str) -> dict[str, Any]:
    """`client: Acme; hypothesis: DHCP lease lost; evidence: lights blink` (evidence items start pending)."""
    changes: dict[str, Any] = {}
    evidence: list[dict[str, str]] = []
    for pair in rest.split(";"):
        key, _, value = pair.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "evidence" and value:
            evidence.append({"text": value, "status": "pending"})
        elif key in _TRIAGE_FIELDS and value:
            changes[_TRIAGE_FIELDS[key]] = value
    if evidence:
        changes["evidence_items"] = evidence
    return changes or {"hypothesis": rest}
