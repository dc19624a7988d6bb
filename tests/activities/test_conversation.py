"""Persisted messages as the model's history: tool parts become results only when they finished."""

from __future__ import annotations

from activities.conversation import INCOMPLETE_TOOL, StoredMessage, to_model_messages


def _answer(tool_part: dict[str, object]) -> list[StoredMessage]:
    return [
        StoredMessage("user", [{"type": "text", "text": "run it"}]),
        StoredMessage(
            "assistant",
            [
                {"type": "step-start"},
                {"type": "tool-bash", "toolCallId": "c1", "input": {"command": "make"}} | tool_part,
            ],
        ),
    ]


def test_a_finished_output_is_the_tool_result() -> None:
    history = to_model_messages(_answer({"state": "output-available", "output": {"exitCode": 0}}))
    result = history[-1]["content"][0]
    assert result == {"type": "tool_result", "tool_use_id": "c1", "content": '{"exitCode": 0}'}


def test_a_preliminary_output_left_by_a_stop_is_not_a_result() -> None:
    part = {"state": "output-available", "output": {"output": "compiling…"}, "preliminary": True}
    result = to_model_messages(_answer(part))[-1]["content"][0]
    assert result == {"type": "tool_result", "tool_use_id": "c1", "content": INCOMPLETE_TOOL, "is_error": True}
