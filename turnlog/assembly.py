"""Builds the UIMessage a Vercel AI SDK client assembles from a UI message stream, so what is persisted is
exactly what the user saw."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from turnlog.chunks import Chunk, StreamedPart, part_end, tool_input_available, tool_output_error


@dataclass
class AssembledMessage:
    id: str | None = None
    metadata: dict[str, Any] | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)
    # Text and reasoning parts started but not ended, as (kind, part id).
    open_parts: list[tuple[StreamedPart, str]] = field(default_factory=list)


def closing_chunks(message: AssembledMessage) -> list[Chunk]:
    """`*-end` chunks for parts left open (a step cut short), so clients and storage show them done."""
    return [part_end(kind, part_id) for kind, part_id in message.open_parts]


def _merge(metadata: dict[str, Any] | None, extra: Any) -> dict[str, Any] | None:
    if not isinstance(extra, dict):
        return metadata
    return {**(metadata or {}), **extra}


def unfinished_tool_chunks(message: AssembledMessage, reason: str) -> list[Chunk]:
    """Ends tool parts that will never get an output (the turn stopped or failed), so none spins forever; a part
    whose last output was preliminary (progress) gets none either."""
    chunks: list[Chunk] = []
    for part in message.parts:
        state = part.get("state")
        finished = state == "output-error" or (state == "output-available" and not part.get("preliminary"))
        if not part["type"].startswith("tool-") or finished:
            continue
        call_id = part["toolCallId"]
        if state == "input-streaming":
            name = part["type"].removeprefix("tool-")
            input_so_far = part.get("input") if isinstance(part.get("input"), dict) else {}
            chunks.append(tool_input_available(call_id, name, input_so_far))
        chunks.append(tool_output_error(call_id, reason))
    return chunks


def assemble(chunks: list[Chunk]) -> AssembledMessage:
    """Applies the chunks in order, as the AI SDK's stream reader does; unknown chunks are ignored."""
    message = AssembledMessage()
    open_parts: dict[tuple[str, str], dict[str, Any]] = {}
    tool_parts: dict[str, dict[str, Any]] = {}
    tool_text: dict[str, str] = {}
    for chunk in chunks:
        kind = chunk.get("type", "")
        if kind == "start":
            message.id = chunk.get("messageId", message.id)
            message.metadata = _merge(message.metadata, chunk.get("messageMetadata"))
        elif kind in ("finish", "message-metadata"):
            message.metadata = _merge(message.metadata, chunk.get("messageMetadata"))
        elif kind == "start-step":
            message.parts.append({"type": "step-start"})
        elif kind in ("text-start", "reasoning-start"):
            part = {"type": kind.removesuffix("-start"), "text": "", "state": "streaming"}
            message.parts.append(part)
            open_parts[(part["type"], chunk["id"])] = part
        elif kind in ("text-delta", "reasoning-delta"):
            open_parts[(kind.removesuffix("-delta"), chunk["id"])]["text"] += chunk["delta"]
        elif kind in ("text-end", "reasoning-end"):
            open_parts.pop((kind.removesuffix("-end"), chunk["id"]))["state"] = "done"
        elif kind == "tool-input-start":
            part = {"type": f"tool-{chunk['toolName']}", "toolCallId": chunk["toolCallId"], "state": "input-streaming"}
            message.parts.append(part)
            tool_parts[chunk["toolCallId"]] = part
            tool_text[chunk["toolCallId"]] = ""
        elif kind == "tool-input-delta":
            tool_text[chunk["toolCallId"]] += chunk["inputTextDelta"]
            tool_parts[chunk["toolCallId"]]["input"] = _partial_json(tool_text[chunk["toolCallId"]])
        elif kind == "tool-input-available":
            existing = tool_parts.get(chunk["toolCallId"])
            if existing is None:
                part = {"type": f"tool-{chunk['toolName']}", "toolCallId": chunk["toolCallId"]}
                message.parts.append(part)
                tool_parts[chunk["toolCallId"]] = part
            else:
                part = existing
            _set_tool_state(part, "input-available")
            part["input"] = chunk["input"]
        elif kind == "tool-output-available":
            _set_tool_state(tool_parts[chunk["toolCallId"]], "output-available", output=chunk["output"])
            if chunk.get("preliminary") is not None:
                tool_parts[chunk["toolCallId"]]["preliminary"] = chunk["preliminary"]
        elif kind == "tool-output-error":
            _set_tool_state(tool_parts[chunk["toolCallId"]], "output-error", errorText=chunk["errorText"])
        elif kind.startswith("data-") and not chunk.get("transient"):
            _upsert_data_part(message.parts, chunk)
    message.open_parts = [(cast(StreamedPart, kind), part_id) for kind, part_id in open_parts]
    return message


def _set_tool_state(part: dict[str, Any], state: str, **fields: Any) -> None:
    """Each tool update replaces the state's fields, as the AI SDK's reader does (an error drops the output)."""
    for stale in ("output", "errorText", "preliminary"):
        part.pop(stale, None)
    part["state"] = state
    part.update(fields)


def _upsert_data_part(parts: list[dict[str, Any]], chunk: dict[str, Any]) -> None:
    part = {"type": chunk["type"], "data": chunk["data"]} | ({"id": chunk["id"]} if "id" in chunk else {})
    if "id" in chunk:
        for existing in parts:
            if existing["type"] == chunk["type"] and existing.get("id") == chunk["id"]:
                existing["data"] = chunk["data"]
                return
    parts.append(part)


def _partial_json(text: str) -> Any:
    """Best effort for an input still streaming; the final input replaces it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
