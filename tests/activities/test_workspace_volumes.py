"""Each workspace on a filesystem of its own: a sandbox that fills its disk fills only its own volume, and the volume
follows the workspace through snapshots, restores and host restarts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from activities.sandbox.base import Limits
from activities.sandbox.bubblewrap import BubblewrapProvider
from activities.sandbox.snapshot_store import DirectorySnapshotStore
from activities.sandbox.snapshots import restore_workspace, sync_workspace
from activities.sandbox.workspace_volumes import WorkspaceVolumes, volumes_available
from activities.tools.base import ToolContext
from activities.tools.registry import TOOLS
from models.settings import Settings

DISK_MB = 32

pytestmark = pytest.mark.skipif(not volumes_available(), reason="workspace volumes need root and loop devices")


@pytest.fixture
def provider() -> BubblewrapProvider:
    return BubblewrapProvider(Settings(sandbox_disk_mb=DISK_MB))


@pytest.fixture
def root(tmp_path: Path, provider: BubblewrapProvider) -> Iterator[Path]:
    root = tmp_path / "workspaces"
    root.mkdir()
    yield root
    for workspace in root.iterdir():
        if workspace.is_dir():
            provider.release(workspace)  # no test leaves a mount behind


def _mounted(workspace: Path) -> bool:
    return os.path.ismount(workspace)


async def _call(provider: BubblewrapProvider, workspace: Path, name: str, **arguments: Any) -> dict[str, Any]:
    context = ToolContext(sandbox=provider.open(workspace), limits=Limits(), turn_id="t", tool_call_id="c")
    return await TOOLS[name].invoke(context, arguments)


async def test_a_full_workspace_fills_only_its_own_volume(provider: BubblewrapProvider, root: Path) -> None:
    hostile, calm = root / "hostile", root / "calm"
    for workspace in (hostile, calm):
        provider.prepare(workspace)
        assert _mounted(workspace)
    await _call(provider, hostile, "write_file", path="plan.md", content="keep me")
    filled = await _call(provider, hostile, "bash", command="head -c 1G /dev/zero > big; stat -c %s big")
    assert "No space left on device" in filled["output"]
    assert int(filled["output"].split()[-1]) < DISK_MB * 1024 * 1024
    with pytest.raises(OSError, match="No space left on device"):
        await _call(provider, hostile, "write_file", path="plan.md", content="x" * 1024 * 1024)
    kept = await _call(provider, hostile, "bash", command="cat plan.md; ls -A")
    assert kept["output"] == "keep mebig\nplan.md\n", "not half-written, and nothing left beside it"

    fine = await _call(provider, calm, "bash", command="head -c 8M /dev/zero > mine && stat -c %s mine")
    assert (fine["exitCode"], fine["output"]) == (0, f"{8 * 1024 * 1024}\n")
    assert (await _call(provider, calm, "write_file", path="notes.txt", content="fine"))["bytes"] == 4
    assert WorkspaceVolumes.image(hostile).stat().st_size == DISK_MB * 1024 * 1024


async def test_the_volume_follows_the_workspace_through_snapshot_and_restore(
    provider: BubblewrapProvider, root: Path, tmp_path: Path
) -> None:
    workspace = root / "session"
    (workspace / "notes").mkdir(parents=True)
    (workspace / "notes" / "plan.md").write_text("keep me")
    (workspace / "plan").symlink_to("notes/plan.md")
    os.mkfifo(workspace / "fifo")
    provider.prepare(workspace)  # files from before the volume (or from a restore) move onto it
    assert _mounted(workspace)
    assert sorted(p.name for p in workspace.iterdir()) == ["notes", "plan"], "no FIFO, no lost+found"
    assert (workspace / "plan").read_text() == "keep me"
    assert (workspace / "notes" / "plan.md").stat().st_uid == workspace.stat().st_uid != 0

    store = DirectorySnapshotStore(tmp_path / "snapshots")
    sync_workspace(store, "session", workspace)
    provider.release(workspace)
    assert not workspace.exists() and not WorkspaceVolumes.image(workspace).exists()

    restore_workspace(store, "session", workspace)
    provider.prepare(workspace)
    assert _mounted(workspace)
    read = await _call(provider, workspace, "bash", command="cat notes/plan.md; ls")
    assert read["output"] == "keep me" + "notes\n", "the file is back; the link is not kept"


async def test_after_a_host_restart_the_volume_is_mounted_again(provider: BubblewrapProvider, root: Path) -> None:
    workspace = root / "session"
    provider.prepare(workspace)
    await _call(provider, workspace, "write_file", path="kept.txt", content="on the volume")
    allocated = WorkspaceVolumes.image(workspace).stat().st_blocks * 512
    assert allocated < 4 * 1024 * 1024, f"a near-empty volume takes {allocated} bytes of the host's disk"
    umount = await asyncio.create_subprocess_exec("umount", str(workspace))  # a reboot leaves the image unmounted
    assert await umount.wait() == 0
    assert not (workspace / "kept.txt").exists()
    read = await _call(provider, workspace, "read_file", path="kept.txt")
    assert read["content"] == "on the volume" and _mounted(workspace)
