"""Ending a turn's message: tool parts that will never get a result are closed as errors."""

from __future__ import annotations

from turnlog import chunks
from turnlog.assembly import assemble, unfinished_tool_chunks


def test_a_tool_left_with_only_its_progress_is_closed_as_an_error() -> None:
    logged = [
        chunks.start("a1"),
        chunks.tool_input_available("call-1", "bash", {"command": "make"}),
        chunks.tool_output("call-1", {"output": "compiling…"}, preliminary=True),
        chunks.tool_input_available("call-2", "bash", {"command": "true"}),
        chunks.tool_output("call-2", {"output": "", "exitCode": 0}),
    ]
    closing = unfinished_tool_chunks(assemble(logged), "stopped before it finished")
    assert closing == [chunks.tool_output_error("call-1", "stopped before it finished")]
    closed = assemble(logged + closing).parts
    assert [(p["toolCallId"], p["state"]) for p in closed] == [
        ("call-1", "output-error"),
        ("call-2", "output-available"),
    ]
    assert "preliminary" not in closed[0]
