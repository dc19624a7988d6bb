"""Typed constructors for every AI SDK UI message stream chunk turnflow sends.

`ai` 6.0.x and 5.0.x reject a chunk with any key they do not know, so each chunk is spelled here and nowhere
else, with only the keys the client accepts and optional ones left out when unset.
"""

from __future__ import annotations

from typing import Any, Literal

Chunk = dict[str, Any]
# A part that streams as start/delta/end chunks.
StreamedPart = Literal["text", "reasoning"]
# Chunks after which a turn's stream has nothing more to say.
TERMINAL_CHUNK_TYPES = frozenset({"finish", "abort", "error"})


def _with(chunk: Chunk, **optional: Any) -> Chunk:
    return chunk | {key: value for key, value in optional.items() if value is not None}


def start(message_id: str | None = None, metadata: dict[str, Any] | None = None) -> Chunk:
    return _with({"type": "start"}, messageId=message_id, messageMetadata=metadata)


def start_step() -> Chunk:
    return {"type": "start-step"}


def finish_step() -> Chunk:
    return {"type": "finish-step"}


def part_start(kind: StreamedPart, part_id: str) -> Chunk:
    return {"type": f"{kind}-start", "id": part_id}


def part_delta(kind: StreamedPart, part_id: str, delta: str) -> Chunk:
    return {"type": f"{kind}-delta", "id": part_id, "delta": delta}


def part_end(kind: StreamedPart, part_id: str) -> Chunk:
    return {"type": f"{kind}-end", "id": part_id}


def tool_input_start(tool_call_id: str, tool_name: str) -> Chunk:
    return {"type": "tool-input-start", "toolCallId": tool_call_id, "toolName": tool_name}


def tool_input_delta(tool_call_id: str, delta: str) -> Chunk:
    return {"type": "tool-input-delta", "toolCallId": tool_call_id, "inputTextDelta": delta}


def tool_input_available(tool_call_id: str, tool_name: str, tool_input: Any) -> Chunk:
    return {"type": "tool-input-available", "toolCallId": tool_call_id, "toolName": tool_name, "input": tool_input}


def tool_output(tool_call_id: str, output: Any, *, preliminary: bool = False) -> Chunk:
    """A preliminary output is replaced by the next one (a long command's output so far, a sub-agent's progress)."""
    return _with(
        {"type": "tool-output-available", "toolCallId": tool_call_id, "output": output},
        preliminary=True if preliminary else None,
    )


def tool_output_error(tool_call_id: str, error_text: str) -> Chunk:
    return {"type": "tool-output-error", "toolCallId": tool_call_id, "errorText": error_text}


def tool_result(tool_call_id: str, output: Any, error_text: str | None) -> Chunk:
    """A finished tool call: its error when it has one, else its output."""
    if error_text is not None:
        return tool_output_error(tool_call_id, error_text)
    return tool_output(tool_call_id, output)


def data(name: str, value: Any, part_id: str | None = None, *, transient: bool = False) -> Chunk:
    """A `data-<name>` part; one with an id replaces the earlier part of that name and id."""
    return _with({"type": f"data-{name}", "data": value}, id=part_id, transient=True if transient else None)


def message_metadata(metadata: dict[str, Any]) -> Chunk:
    return {"type": "message-metadata", "messageMetadata": metadata}


def finish(metadata: dict[str, Any] | None = None) -> Chunk:
    return _with({"type": "finish"}, messageMetadata=metadata)


def abort() -> Chunk:
    return {"type": "abort"}


def error(error_text: str) -> Chunk:
    return {"type": "error", "errorText": error_text}
