"""Escape attempts from the bubblewrap sandbox: each is contained, and failures reach the model as clear errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from activities.sandbox.base import Limits
from activities.sandbox.bubblewrap import BubblewrapProvider
from activities.tools.base import ToolContext, ToolFailure
from activities.tools.registry import TOOLS
from tests.polling import wait_until


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspaces" / "session-a"
    BubblewrapProvider().prepare(path)
    return path


async def _bash(workspace: Path, command: str, timeout_s: int = 20) -> dict[str, Any]:
    context = ToolContext(
        sandbox=BubblewrapProvider().open(workspace), limits=Limits(processes=64), turn_id="t", tool_call_id="c"
    )
    return await TOOLS["bash"].invoke(context, {"command": command, "timeout_s": timeout_s})


@pytest.fixture
def host_server() -> Iterator[int]:
    """A TCP server on the host's loopback, which the sandbox must not reach."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


async def test_no_network(workspace: Path, host_server: int) -> None:
    result = await _bash(workspace, f"exec 3<>/dev/tcp/127.0.0.1/{host_server} && echo CONNECTED")
    assert "CONNECTED" not in result["output"] and result["exitCode"] != 0


async def test_nothing_outside_the_workspace_is_writable(workspace: Path, tmp_path: Path) -> None:
    result = await _bash(
        workspace,
        "for f in /etc/evil /usr/evil ../evil /evil; do (echo x > $f) 2>/dev/null && echo WROTE $f; done; "
        "echo ok > inside.txt; echo x > /tmp/scratch && echo tmp-ok",
    )
    assert "WROTE" not in result["output"]
    assert "tmp-ok" in result["output"], "a private /tmp is writable"
    assert _host_state(workspace, tmp_path) == ("ok\n", False, False)


def _host_state(workspace: Path, tmp_path: Path) -> tuple[str, bool, bool]:
    """What the host sees after the sandbox tried its writes."""
    inside = (workspace / "inside.txt").read_text()
    return inside, (tmp_path / "workspaces" / "evil").exists(), Path("/tmp/scratch").exists()


async def test_host_files_and_secrets_are_not_visible(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-very-secret")
    monkeypatch.setenv("TURNFLOW_DATABASE_URL", "postgresql://user:very-secret@db/x")
    other = _other_session(tmp_path)
    result = await _bash(
        workspace, f"env; cat /etc/shadow; ls /root /work /home; cat {other}/private.txt; cat /proc/1/environ"
    )
    output = result["output"]
    assert "very-secret" not in output and "other session's secret" not in output
    assert "root:" not in output, "no shadow file"
    listing = await _bash(workspace, "ls -a .. /")
    assert "session-a" not in listing["output"] and "session-b" not in listing["output"]


def _other_session(tmp_path: Path) -> Path:
    other = tmp_path / "workspaces" / "session-b"
    BubblewrapProvider().prepare(other)
    (other / "private.txt").write_text("other session's secret")
    return other


async def test_fork_bomb_is_contained(workspace: Path) -> None:
    with pytest.raises(ToolFailure, match="ran past its 3 s limit"):
        await _bash(workspace, ":(){ :|:& };:; sleep 30", timeout_s=3)
    await _no_processes_left("sleep 30")


async def test_gigabytes_of_output_are_cut_off(workspace: Path) -> None:
    with pytest.raises(ToolFailure, match="more than 8 MiB of output"):
        await _bash(workspace, "head -c 4G /dev/zero")


async def test_a_command_ignoring_sigterm_is_killed(workspace: Path) -> None:
    with pytest.raises(ToolFailure, match="ran past its 1 s limit and was killed"):
        await _bash(workspace, "trap '' TERM; sleep 47", timeout_s=1)
    await _no_processes_left("sleep 47")


async def _no_processes_left(fragment: str) -> None:
    """Killed with its PID namespace, which the kernel tears down process by process: a fork bomb's take a while."""

    async def gone() -> bool:
        return not any(fragment in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))

    await wait_until(gone, f"no {fragment!r} process left")
