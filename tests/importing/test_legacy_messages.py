"""Stored message shapes of AI SDK v4 and v5 and plain `{role, content}` text, as UIMessage parts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from turnflow.importing.legacy_messages import MalformedMessage, convert_message, decode_stored, text_message


def test_v4_text_message() -> None:
    converted = convert_message({"role": "user", "content": "Which venue in Lisbon?"})
    assert (converted.role, converted.parts) == ("user", [{"type": "text", "text": "Which venue in Lisbon?"}])


def test_v4_tool_invocations_become_a_step_of_tool_parts_before_the_answer() -> None:
    converted = convert_message(
        {
            "role": "assistant",
            "content": "Coliseu holds 4,000.",
            "toolInvocations": [
                {
                    "state": "result",
                    "toolCallId": "c1",
                    "toolName": "venue",
                    "args": {"city": "Lisbon"},
                    "result": 4000,
                },
                {"state": "call", "toolCallId": "c2", "toolName": "book", "args": {"date": "2027-01-02"}},
                {"state": "partial-call", "toolCallId": "c3", "toolName": "book", "args": {"date": "20"}},
            ],
        }
    )
    assert converted.parts == [
        {"type": "step-start"},
        {
            "type": "tool-venue",
            "toolCallId": "c1",
            "state": "output-available",
            "input": {"city": "Lisbon"},
            "output": 4000,
        },
        {"type": "tool-book", "toolCallId": "c2", "state": "input-available", "input": {"date": "2027-01-02"}},
        {"type": "tool-book", "toolCallId": "c3", "state": "input-streaming", "input": {"date": "20"}},
        {"type": "step-start"},
        {"type": "text", "text": "Coliseu holds 4,000."},
    ]


def test_v4_tool_invocations_without_text_are_the_whole_message() -> None:
    tool = {"state": "result", "toolCallId": "c1", "toolName": "venue", "args": {}, "result": {"ok": True}}
    parts = convert_message({"role": "assistant", "content": "", "toolInvocations": [tool]}).parts
    assert parts == [
        {"type": "tool-venue", "toolCallId": "c1", "state": "output-available", "input": {}, "output": {"ok": True}}
    ]


def test_v4_parts_are_rewritten_into_v5_parts() -> None:
    message = {
        "role": "assistant",
        "content": "ignored when parts are present",
        "parts": [
            {"type": "step-start"},
            {"type": "reasoning", "reasoning": "the user wants capacity", "details": []},
            {
                "type": "tool-invocation",
                "toolInvocation": {"state": "result", "toolCallId": "c9", "toolName": "venue", "args": {}, "result": 1},
            },
            {"type": "source", "source": {"sourceType": "url", "id": "s1", "url": "https://example.org", "title": "E"}},
            {"type": "file", "mimeType": "image/png", "data": "iVBORw0KGgo="},
            {"type": "text", "text": "Done."},
        ],
    }
    assert convert_message(message).parts == [
        {"type": "step-start"},
        {"type": "reasoning", "text": "the user wants capacity"},
        {"type": "tool-venue", "toolCallId": "c9", "state": "output-available", "input": {}, "output": 1},
        {"type": "source-url", "sourceId": "s1", "url": "https://example.org", "title": "E"},
        {"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,iVBORw0KGgo="},
        {"type": "text", "text": "Done."},
    ]


def test_v5_parts_are_kept_as_they_are() -> None:
    parts = [
        {"type": "step-start"},
        {"type": "text", "text": "Checking.", "state": "done"},
        {"type": "tool-venue", "toolCallId": "c1", "state": "output-error", "input": {}, "errorText": "timeout"},
        {"type": "dynamic-tool", "toolName": "mcp_x", "toolCallId": "c2", "state": "input-available", "input": {}},
        {"type": "data-triage", "id": "t", "data": {"hypothesis": "cable"}},
        {"type": "file", "mediaType": "text/plain", "url": "https://files.example/a.txt"},
    ]
    converted = convert_message({"id": "m1", "role": "assistant", "parts": parts, "metadata": {"model": "x"}})
    assert converted.parts == parts
    assert converted.metadata == {"model": "x"}


def test_v4_attachments_become_file_parts() -> None:
    message = {
        "role": "user",
        "content": "see this",
        "experimental_attachments": [{"name": "plan.pdf", "contentType": "application/pdf", "url": "https://x/p"}],
    }
    assert convert_message(message).parts == [
        {"type": "file", "mediaType": "application/pdf", "url": "https://x/p", "filename": "plan.pdf"},
        {"type": "text", "text": "see this"},
    ]


def test_text_message_takes_text_blocks_too() -> None:
    assert text_message("assistant", [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]).parts == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]


def test_content_stored_as_an_encoded_string_is_decoded_once_more() -> None:
    inner = json.dumps({"role": "user", "content": "hi"})
    assert decode_stored(json.dumps(inner)) == {"role": "user", "content": "hi"}


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ({"role": "tool", "content": "x"}, "role 'tool'"),
        ({"role": "data", "content": "x"}, "role 'data'"),
        ({"role": "user"}, "neither `parts` nor `content`"),
        ({"role": "user", "content": 42}, "not text"),
        ({"role": "user", "content": [{"type": "image", "image": "x"}]}, "not text"),
        ({"role": "assistant", "parts": [{"type": "text"}]}, "no text"),
        ({"role": "assistant", "parts": [{"type": "mystery"}]}, "unknown part type"),
        ({"role": "assistant", "parts": [{"type": "tool-x", "toolCallId": "c", "state": "done"}]}, "unknown state"),
        ({"role": "assistant", "content": "", "toolInvocations": [{"state": "call"}]}, "no toolName"),
        ({"role": "assistant", "content": "", "toolInvocations": {"a": 1}}, "not a list"),
        (["role", "user"], "not an object"),
        ("just text", "not an object"),
    ],
)
def test_malformed_messages_say_what_is_wrong(stored: Any, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        convert_message(stored)


@pytest.mark.parametrize(("raw", "reason"), [(None, "null"), (json.dumps("{not json"), "not JSON")])
def test_undecodable_content_is_malformed(raw: str | None, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        decode_stored(raw)
