"""One sandbox exhausts only its own limits: its fork bomb and its full /tmp leave another session's commands
running normally."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from activities.sandbox.base import Limits
from activities.sandbox.bubblewrap import BubblewrapProvider
from activities.tools.base import ToolContext
from activities.tools.registry import TOOLS
from models.settings import Settings

PROCESSES = 48
TMP_MB = 16
DEADLINE_S = 30.0

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a uid per sandbox needs a worker running as root")


@pytest.fixture
def provider() -> BubblewrapProvider:
    return BubblewrapProvider(Settings(sandbox_tmp_mb=TMP_MB))


@pytest.fixture
def workspaces(tmp_path: Path, provider: BubblewrapProvider) -> tuple[Path, Path]:
    hostile, calm = tmp_path / "workspaces" / "hostile", tmp_path / "workspaces" / "calm"
    for workspace in (hostile, calm):
        provider.prepare(workspace)
    assert hostile.stat().st_uid != calm.stat().st_uid, "each sandbox has a user of its own"
    return hostile, calm


async def _bash(provider: BubblewrapProvider, workspace: Path, command: str, timeout_s: int) -> dict[str, Any]:
    context = ToolContext(
        sandbox=provider.open(workspace), limits=Limits(processes=PROCESSES), turn_id="t", tool_call_id="c"
    )
    return await TOOLS["bash"].invoke(context, {"command": command, "timeout_s": timeout_s})


def _processes_of(uid: int) -> int:
    return sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid)


async def _until(check: Callable[[], bool], what: str) -> None:
    give_up_at = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < give_up_at, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_fork_bomb_leaves_other_sandboxes_their_processes(
    provider: BubblewrapProvider, workspaces: tuple[Path, Path]
) -> None:
    hostile, calm = workspaces
    bomb_uid = hostile.stat().st_uid
    bomb = asyncio.create_task(_bash(provider, hostile, "b(){ b | b & }; b; sleep 60", timeout_s=60))
    try:
        await _until(lambda: _processes_of(bomb_uid) >= PROCESSES - 4, "the fork bomb to reach its cap")
        forks = "for i in $(seq 20); do sleep 0.1 & done; wait && echo forked"
        result = await _bash(provider, calm, forks, timeout_s=20)
        assert (result["exitCode"], result["output"]) == (0, "forked\n"), result
        assert _processes_of(bomb_uid) >= PROCESSES - 4, "the bomb was still at its cap meanwhile"
    finally:
        bomb.cancel()
        with pytest.raises(asyncio.CancelledError):
            await bomb
    await _until(lambda: _processes_of(bomb_uid) == 0, "the bomb's processes to be gone")


async def test_a_full_tmp_is_the_sandbox_own_and_capped(
    provider: BubblewrapProvider, workspaces: tuple[Path, Path]
) -> None:
    hostile, calm = workspaces
    fill = (
        "for d in /tmp /dev/shm; do head -c 1G /dev/zero > $d/fill; echo $d $(($(stat -c %s $d/fill) / 1048576)); "
        "done; touch filled; while [ ! -e release ]; do sleep 0.05; done"
    )
    filling = asyncio.create_task(_bash(provider, hostile, fill, timeout_s=60))
    try:
        await _until((hostile / "filled").exists, "the sandbox's /tmp and /dev/shm to be full")
        result = await _bash(provider, calm, "head -c 8M /dev/zero > /tmp/mine && stat -c %s /tmp/mine", timeout_s=20)
        assert (result["exitCode"], result["output"]) == (0, f"{8 * 1024 * 1024}\n"), result
    finally:
        (hostile / "release").touch()
    output = (await asyncio.wait_for(filling, DEADLINE_S))["output"]
    assert output.count("No space left on device") == 2, output
    assert f"/tmp {TMP_MB}\n" in output and f"/dev/shm {TMP_MB}\n" in output, output


async def test_the_sandbox_cannot_write_to_dev(provider: BubblewrapProvider, workspaces: tuple[Path, Path]) -> None:
    result = await _bash(provider, workspaces[0], "echo x > /dev/fill; echo x > /dev/null && echo null-ok", 20)
    assert "Read-only file system" in result["output"] and "null-ok" in result["output"]
