"""Turns persisted UIMessages into the Messages API's alternating user/assistant turns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

INCOMPLETE_TOOL = "the tool call did not complete (the turn was stopped or interrupted)"


@dataclass(frozen=True)
class StoredMessage:
    role: str
    parts: list[dict[str, Any]]


def _append(out: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Adds blocks, merging with the previous message of the same role (the API wants strict alternation)."""
    if not blocks:
        return
    if out and out[-1]["role"] == role:
        out[-1]["content"].extend(blocks)
    else:
        out.append({"role": role, "content": list(blocks)})


def _user_blocks(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    blocks = []
    for part in parts:
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "file":
            name = part.get("filename") or part.get("mediaType") or "file"
            blocks.append({"type": "text", "text": f"[attached {name}; attachments are not sent to the model]"})
    return blocks


def _tool_result(part: dict[str, Any]) -> dict[str, Any]:
    """A preliminary output is progress, not a result (messages ended before their last progress was closed as an
    error can still hold one)."""
    state = part.get("state")
    if state == "output-available" and not part.get("preliminary"):
        output = part.get("output")
        content = output if isinstance(output, str) else json.dumps(output)
        return {"type": "tool_result", "tool_use_id": part["toolCallId"], "content": content}
    error = part.get("errorText") if state == "output-error" else INCOMPLETE_TOOL
    return {"type": "tool_result", "tool_use_id": part["toolCallId"], "content": error or "error", "is_error": True}


def _assistant_steps(parts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    steps: list[list[dict[str, Any]]] = [[]]
    for part in parts:
        if part.get("type") == "step-start":
            if steps[-1]:
                steps.append([])
        else:
            steps[-1].append(part)
    return steps


def to_model_messages(messages: list[StoredMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "user":
            _append(out, "user", _user_blocks(message.parts))
            continue
        if message.role != "assistant":
            continue
        for step in _assistant_steps(message.parts):
            calls: list[dict[str, Any]] = []
            blocks: list[dict[str, Any]] = []
            for part in step:
                kind = part.get("type", "")
                if kind == "text" and part.get("text"):
                    blocks.append({"type": "text", "text": part["text"]})
                elif kind.startswith("tool-") and isinstance(part.get("input"), dict):
                    name = kind.removeprefix("tool-")
                    blocks.append({"type": "tool_use", "id": part["toolCallId"], "name": name, "input": part["input"]})
                    calls.append(part)
            _append(out, "assistant", blocks)
            _append(out, "user", [_tool_result(call) for call in calls])
    while out and out[0]["role"] != "user":
        out.pop(0)
    return out
