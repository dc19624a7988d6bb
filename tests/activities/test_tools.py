"""The workspace tools on a real directory and a real shell: limits, confinement and clear failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activities.tools.base import ToolContext, ToolFailure
from activities.tools.bash import MAX_OUTPUT_BYTES
from activities.tools.registry import TOOLS, tool_specs


def _context(tmp_path: Path) -> ToolContext:
    return ToolContext(workspace=tmp_path, turn_id="t", tool_call_id="c")


async def _call(tmp_path: Path, name: str, **arguments: Any) -> dict[str, Any]:
    return await TOOLS[name].invoke(_context(tmp_path), arguments)


def test_every_tool_is_declared_by_json_schema() -> None:
    specs = {spec["name"]: spec for spec in tool_specs()}
    assert set(specs) == {"bash", "read_file", "write_file", "list_files"}
    assert specs["bash"]["input_schema"]["required"] == ["command"]
    assert specs["write_file"]["input_schema"]["properties"]["content"]["type"] == "string"


async def test_write_read_list_round_trip(tmp_path: Path) -> None:
    assert await _call(tmp_path, "write_file", path="notes/a.txt", content="hello") == {
        "path": "notes/a.txt",
        "bytes": 5,
    }
    read = await _call(tmp_path, "read_file", path="notes/a.txt")
    assert (read["content"], read["truncated"]) == ("hello", False)
    listed = await _call(tmp_path, "list_files", path="notes")
    assert listed["entries"] == [{"name": "a.txt", "type": "file"}]


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "link/escape.txt"])
async def test_paths_cannot_leave_the_workspace(tmp_path: Path, path: str) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "link").symlink_to(tmp_path)
    with pytest.raises(ToolFailure, match="outside the workspace"):
        await _call(workspace, "write_file", path=path, content="x")
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "escape.txt").exists()


async def test_bash_reports_exit_code_and_caps_output(tmp_path: Path) -> None:
    failed = await _call(tmp_path, "bash", command="echo oops; exit 3")
    assert (failed["exitCode"], failed["output"]) == (3, "oops\n")
    chatty = await _call(tmp_path, "bash", command="head -c 300000 /dev/zero | tr '\\0' x")
    assert len(chatty["output"]) == MAX_OUTPUT_BYTES and chatty["truncated"] is True


async def test_bash_timeout_kills_the_command(tmp_path: Path) -> None:
    with pytest.raises(ToolFailure, match="timed out after 1 s"):
        await _call(tmp_path, "bash", command="sleep 5 & sleep 5; echo never", timeout_s=1)


async def test_bash_gets_no_worker_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    monkeypatch.setenv("TURNFLOW_DATABASE_URL", "postgresql://secret")
    result = await _call(tmp_path, "bash", command="env")
    assert "secret" not in result["output"]


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("bash", {}, "command: Field required"),
        ("bash", {"command": "ls", "rm": True}, "rm: Extra inputs are not permitted"),
        ("read_file", {"path": "missing.txt"}, "no file 'missing.txt'"),
        ("bash", {"command": "ls", "timeout_s": 0}, "timeout_s: Input should be greater than or equal to 1"),
    ],
)
async def test_bad_calls_fail_with_a_message_for_the_model(
    tmp_path: Path, name: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolFailure, match=message):
        await TOOLS[name].invoke(_context(tmp_path), arguments)
