"""Messages as other products stored them, turned into AI SDK UIMessage parts: AI SDK v4 (`content` text,
`toolInvocations`, v4 `parts`), AI SDK v5 (`parts`), and plain `{role, content}` text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from models.enums import MessageRole

ROLES = frozenset(role.value for role in MessageRole)
# v4's tool invocation states and the v5 tool part states they are.
_V4_TOOL_STATES = {"partial-call": "input-streaming", "call": "input-available", "result": "output-available"}
_TOOL_STATES = frozenset({"input-streaming", "input-available", "output-available", "output-error"})
_PLAIN_PARTS = frozenset({"step-start", "source-url", "source-document"})


class MalformedMessage(ValueError):
    """The stored message is not one of the shapes above; the text says what is wrong with it."""


@dataclass(frozen=True)
class ConvertedMessage:
    role: str
    parts: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None


def decode_stored(raw: str | None) -> Any:
    """A JSON column's text; a JSON string holding JSON (stored encoded twice) is decoded once more."""
    if raw is None:
        raise MalformedMessage("content is null")
    value = json.loads(raw)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise MalformedMessage(f"content is a string that is not JSON: {exc.msg} (character {exc.pos})") from None
    return value


def text_message(role: Any, content: Any) -> ConvertedMessage:
    """A `{role, content}` pair whose content is text (or a list of text blocks)."""
    return ConvertedMessage(_role(role), _content_parts(content))


def convert_message(message: Any) -> ConvertedMessage:
    """Any supported stored shape; v5 parts are kept as they are, everything older is rewritten into them."""
    if not isinstance(message, dict):
        raise MalformedMessage(f"message is a JSON {type(message).__name__}, not an object")
    role = _role(message.get("role"))
    metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else None
    if "parts" in message and isinstance(message["parts"], list) and message["parts"]:
        return ConvertedMessage(role, [_part(p) for p in message["parts"]], metadata)
    if "content" not in message and "toolInvocations" not in message and "parts" not in message:
        raise MalformedMessage("message has neither `parts` nor `content`")
    text = _content_parts(message.get("content", ""))
    files = [_attachment(a) for a in _list(message.get("experimental_attachments"), "experimental_attachments")]
    tools = [_v4_tool(t) for t in _list(message.get("toolInvocations"), "toolInvocations")]
    if tools and text:
        # v4 kept the final text apart from the tool calls that led to it: the calls are one step, the answer the next.
        return ConvertedMessage(role, [{"type": "step-start"}, *tools, {"type": "step-start"}, *text], metadata)
    return ConvertedMessage(role, [*files, *tools, *text], metadata)


def _role(role: Any) -> str:
    if role not in ROLES:
        raise MalformedMessage(f"role {role!r} is not one of {', '.join(sorted(ROLES))}")
    return str(role)


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedMessage(f"`{name}` is not a list")
    return value


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        parts = []
        for block in content:
            if not (isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)):
                raise MalformedMessage("`content` holds a block that is not text")
            parts.append({"type": "text", "text": block["text"]})
        return parts
    raise MalformedMessage(f"`content` is a JSON {type(content).__name__}, not text")


def _attachment(attachment: Any) -> dict[str, Any]:
    if not isinstance(attachment, dict) or not isinstance(attachment.get("url"), str):
        raise MalformedMessage("an attachment has no url")
    part = {"type": "file", "mediaType": attachment.get("contentType") or "application/octet-stream"}
    return part | {"url": attachment["url"]} | ({"filename": attachment["name"]} if attachment.get("name") else {})


def _v4_tool(invocation: Any) -> dict[str, Any]:
    if not isinstance(invocation, dict):
        raise MalformedMessage("a tool invocation is not an object")
    name, call_id, state = invocation.get("toolName"), invocation.get("toolCallId"), invocation.get("state")
    if not (isinstance(name, str) and name and isinstance(call_id, str) and call_id):
        raise MalformedMessage("a tool invocation has no toolName or toolCallId")
    if state not in _V4_TOOL_STATES:
        raise MalformedMessage(f"tool invocation {call_id} has unknown state {state!r}")
    part: dict[str, Any] = {"type": f"tool-{name}", "toolCallId": call_id, "state": _V4_TOOL_STATES[state]}
    part["input"] = invocation.get("args")
    if state == "result":
        part["output"] = invocation.get("result")
    return part


def _part(part: Any) -> dict[str, Any]:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise MalformedMessage("a part has no type")
    kind = part["type"]
    if kind == "text":
        _require_text(part.get("text"), kind)
        return part
    if kind == "reasoning":
        # v4 kept the reasoning under `reasoning`, v5 under `text`.
        return {"type": "reasoning", "text": _require_text(part.get("text", part.get("reasoning")), kind)}
    if kind == "tool-invocation":
        return _v4_tool(part.get("toolInvocation"))
    if kind == "source":
        source: dict[str, Any] = part["source"] if isinstance(part.get("source"), dict) else {}
        if not isinstance(source.get("url"), str):
            raise MalformedMessage("a source part has no url")
        return {"type": "source-url", "sourceId": str(source.get("id", "")), "url": source["url"]} | (
            {"title": source["title"]} if source.get("title") else {}
        )
    if kind == "file" and "mimeType" in part:
        data = _require_text(part.get("data"), kind)
        return {"type": "file", "mediaType": part["mimeType"], "url": f"data:{part['mimeType']};base64,{data}"}
    if kind == "file" or kind in _PLAIN_PARTS or kind.startswith("data-"):
        return part
    if kind.startswith("tool-") or kind == "dynamic-tool":
        if not isinstance(part.get("toolCallId"), str) or part.get("state") not in _TOOL_STATES:
            raise MalformedMessage(f"tool part {kind} has no toolCallId or an unknown state")
        return part
    raise MalformedMessage(f"unknown part type {kind!r}")


def _require_text(value: Any, kind: str) -> str:
    if not isinstance(value, str):
        raise MalformedMessage(f"a {kind} part has no text")
    return value
