"""The tools in a real bubblewrap sandbox: limits, confinement and clear failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activities.sandbox.base import Limits
from activities.sandbox.bubblewrap import BubblewrapProvider
from activities.tools.base import ToolContext, ToolFailure
from activities.tools.registry import TOOLS, tool_specs

KEPT = 64 * 1024


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "session"
    BubblewrapProvider().prepare(path)
    return path


def _context(workspace: Path, progress: list[dict[str, Any]] | None = None) -> ToolContext:
    return ToolContext(
        sandbox=BubblewrapProvider().open(workspace),
        limits=Limits(output_kept_bytes=KEPT),
        turn_id="t",
        tool_call_id="c",
        progress=progress.append if progress is not None else None,
    )


async def _call(workspace: Path, name: str, **arguments: Any) -> dict[str, Any]:
    return await TOOLS[name].invoke(_context(workspace), arguments)


def test_every_tool_is_declared_by_json_schema() -> None:
    specs = {spec["name"]: spec for spec in tool_specs()}
    assert set(specs) == {"bash", "read_file", "write_file", "list_files", "update_triage", "ask_user_question", "task"}
    sub_agent = {spec["name"] for spec in tool_specs(subagent=True)}
    assert sub_agent == {"bash", "read_file", "write_file", "list_files", "update_triage"}, "no questions, no tasks"
    assert specs["bash"]["input_schema"]["required"] == ["command"]
    assert specs["write_file"]["input_schema"]["properties"]["content"]["type"] == "string"


async def test_write_read_list_round_trip(workspace: Path) -> None:
    written = await _call(workspace, "write_file", path="notes/a.txt", content="hello")
    assert written == {"path": "notes/a.txt", "bytes": 5}
    read = await _call(workspace, "read_file", path="notes/a.txt")
    assert (read["content"], read["truncated"]) == ("hello", False)
    listed = await _call(workspace, "list_files", path="notes")
    assert listed["entries"] == [{"name": "a.txt", "type": "file"}]
    appended = await _call(workspace, "bash", command="echo more >> notes/a.txt && cat notes/a.txt")
    assert appended["output"] == "hellomore\n", "the sandbox may change what the file tools wrote"


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "link/escape.txt"])
async def test_paths_cannot_leave_the_workspace(workspace: Path, path: str) -> None:
    (workspace / "link").symlink_to(workspace.parent)
    with pytest.raises(ToolFailure, match="outside the workspace"):
        await _call(workspace, "write_file", path=path, content="x")
    assert not (workspace.parent / "outside.txt").exists() and not (workspace.parent / "escape.txt").exists()


async def test_bash_reports_exit_code_and_keeps_the_start_of_long_output(workspace: Path) -> None:
    failed = await _call(workspace, "bash", command="echo oops; exit 3")
    assert (failed["exitCode"], failed["output"]) == (3, "oops\n")
    chatty = await _call(workspace, "bash", command="head -c 300000 /dev/zero | tr '\\0' x")
    assert len(chatty["output"]) == KEPT and chatty["truncated"] is True


async def test_long_commands_stream_their_output(workspace: Path) -> None:
    progress: list[dict[str, Any]] = []
    command = "for i in 1 2 3 4; do echo line$i; sleep 0.3; done"
    result = await TOOLS["bash"].invoke(_context(workspace, progress), {"command": command})
    assert result["output"] == "line1\nline2\nline3\nline4\n"
    assert progress, "no preliminary output while the command ran"
    assert all(p["running"] is True and result["output"].startswith(p["output"]) for p in progress)


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
    workspace: Path, name: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolFailure, match=message):
        await TOOLS[name].invoke(_context(workspace), arguments)


async def test_overwriting_a_script_keeps_it_runnable(workspace: Path) -> None:
    await _call(workspace, "bash", command="printf 'echo one' > run.sh && chmod 750 run.sh")
    await _call(workspace, "write_file", path="run.sh", content="echo two")
    ran = await _call(workspace, "bash", command="./run.sh; stat -c %a run.sh; ls -A")
    assert ran["output"] == "two\n750\nrun.sh\n"
