"""A hostile workspace fails only its own file tools: FIFOs, devices, sockets and huge files get clear errors or a
first part, and hung calls hold only their own session's threads."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from activities.sandbox.base import Limits, SandboxLimitReached
from activities.sandbox.bubblewrap import BubblewrapProvider
from activities.tool_calls import MAX_OUTPUT_CHARS
from activities.tools.base import ToolContext, ToolFailure
from activities.tools.registry import TOOLS
from activities.tools.workspace_files import MAX_LISTED
from models.settings import Settings

HUGE = 10 * 1024**3  # sparse: costs no disk
DEADLINE_S = 20.0


@pytest.fixture
def provider() -> BubblewrapProvider:
    return BubblewrapProvider(Settings(file_tool_threads=4, file_tool_threads_per_session=2, file_tool_timeout_s=1))


@pytest.fixture
def hostile(tmp_path: Path, provider: BubblewrapProvider) -> Iterator[Path]:
    """A workspace holding a FIFO, a device node, a listening socket and a 10 GiB file."""
    workspace = tmp_path / "workspaces" / "hostile"
    provider.prepare(workspace)
    os.mkfifo(workspace / "fifo")
    if os.geteuid() == 0:  # making a device node takes root (a sandbox can never make one)
        os.mknod(workspace / "device", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(workspace / "socket"))
        listening.listen()
        with (workspace / "huge").open("wb") as huge:
            huge.write("é".encode() * 100_000)  # two bytes each: cuts may fall inside a character
            huge.truncate(HUGE)
        yield workspace


@pytest.fixture
def calm(tmp_path: Path, provider: BubblewrapProvider) -> Path:
    workspace = tmp_path / "workspaces" / "calm"
    provider.prepare(workspace)
    (workspace / "notes.txt").write_text("all quiet")
    return workspace


async def _call(provider: BubblewrapProvider, workspace: Path, name: str, **arguments: Any) -> dict[str, Any]:
    context = ToolContext(sandbox=provider.open(workspace), limits=Limits(), turn_id="t", tool_call_id="c")
    return await TOOLS[name].invoke(context, arguments)


SPECIAL = {"fifo": "a named pipe (FIFO)", "device": "a device", "socket": "a socket"}


@pytest.mark.parametrize("name", sorted(SPECIAL))
@pytest.mark.parametrize("tool", ["read_file", "write_file", "list_files"])
async def test_special_files_are_refused_by_every_file_tool(
    provider: BubblewrapProvider, hostile: Path, name: str, tool: str
) -> None:
    if name == "device" and os.geteuid() != 0:
        pytest.skip("making a device node takes root")
    arguments: dict[str, Any] = {"path": name} | ({"content": "x"} if tool == "write_file" else {})
    refused = re.escape(f"'{name}' is {SPECIAL[name]}; file tools only open regular files and directories")
    with pytest.raises(ToolFailure, match=refused):
        await asyncio.wait_for(_call(provider, hostile, tool, **arguments), DEADLINE_S)
    with pytest.raises(ToolFailure, match=re.escape(f"is {SPECIAL[name]}")):
        await _call(provider, hostile, "read_file", path=f"{name}/below")  # a special file in the way


async def test_a_huge_file_is_read_in_parts_that_fit_the_output(provider: BubblewrapProvider, hostile: Path) -> None:
    first = await _call(provider, hostile, "read_file", path="huge")
    assert first["truncated"] is True and first["size"] == HUGE
    assert first["content"] == "é" * len(first["content"]), "cut on a whole character"
    assert len(json.dumps(first)) <= MAX_OUTPUT_CHARS, "the tool-call activity would refuse a bigger output"
    second = await _call(provider, hostile, "read_file", path="huge", offset=first["nextOffset"])
    assert second["content"].startswith("é") and second["nextOffset"] > first["nextOffset"]
    tail = await _call(provider, hostile, "read_file", path="huge", offset=HUGE - 3)
    assert (tail["content"], tail["truncated"]) == ("\0\0\0", False) and "nextOffset" not in tail

    listed = await _call(provider, hostile, "list_files")
    assert {"name": "huge", "type": "file"} in listed["entries"]
    assert {"name": "fifo", "type": "other"} in listed["entries"]
    with pytest.raises(ToolFailure, match="is not a directory"):
        await _call(provider, hostile, "list_files", path="huge")
    with pytest.raises(ToolFailure, match="content: String should have at most"):
        await _call(provider, hostile, "write_file", path="huge", content="x" * (2 * 1024 * 1024))
    written = await _call(provider, hostile, "write_file", path="huge", content="small now")
    assert written["bytes"] == 9 and (hostile / "huge").stat().st_size == 9


async def test_a_crowded_directory_lists_its_first_names(provider: BubblewrapProvider, hostile: Path) -> None:
    crowd = hostile / "crowd"
    crowd.mkdir()
    for n in range(MAX_LISTED + 100):
        (crowd / f"{n:05}").touch()
    listed = await _call(provider, hostile, "list_files", path="crowd")
    assert listed["truncated"] is True
    assert [e["name"] for e in listed["entries"]] == [f"{n:05}" for n in range(MAX_LISTED)]


async def test_many_hostile_calls_at_once_leave_other_sessions_served(
    provider: BubblewrapProvider, hostile: Path, calm: Path
) -> None:
    hostile_calls = [
        _call(provider, hostile, tool, path=name, **({"content": "x"} if tool == "write_file" else {}))
        for name in (*SPECIAL, "fifo/below")
        for tool in ("read_file", "write_file", "list_files")
        for _ in range(10)
    ]
    outcomes = asyncio.gather(*hostile_calls, return_exceptions=True)
    read = await asyncio.wait_for(_call(provider, calm, "read_file", path="notes.txt"), DEADLINE_S)
    assert read["content"] == "all quiet"
    results = await asyncio.wait_for(outcomes, DEADLINE_S)
    assert all(isinstance(r, ToolFailure) for r in results), [r for r in results if not isinstance(r, ToolFailure)]


async def test_calls_that_hang_hold_only_their_own_sessions_threads(
    provider: BubblewrapProvider, hostile: Path, calm: Path
) -> None:
    """A blocking open of a FIFO (what the file tools never do) stands in for any call that hangs in the kernel."""
    fifo = hostile / "fifo"
    sandbox = provider.open(hostile)
    hung = [sandbox.run_file_operation(fifo.read_bytes) for _ in range(2)]  # the session's whole share
    started = time.monotonic()
    for outcome in await asyncio.gather(*hung, return_exceptions=True):
        assert isinstance(outcome, SandboxLimitReached) and "did not finish within 1 s" in str(outcome)
    assert time.monotonic() - started < DEADLINE_S
    with pytest.raises(ToolFailure, match="earlier file operations are still running"):
        await _call(provider, hostile, "list_files")

    # Its threads are still blocked (two of the pool's four), yet another session's tools are served at once.
    assert (await _call(provider, calm, "read_file", path="notes.txt"))["content"] == "all quiet"
    assert (await _call(provider, calm, "write_file", path="more.txt", content="fine"))["bytes"] == 4

    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer comes and goes: the hung reads return
    give_up_at = time.monotonic() + DEADLINE_S
    while True:
        try:
            listed = await _call(provider, hostile, "list_files")
            break
        except ToolFailure:
            assert time.monotonic() < give_up_at, "the session's threads were never given back"
    assert {"name": "fifo", "type": "other"} in listed["entries"]
