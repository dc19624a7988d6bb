"""The local sandbox: bubblewrap namespaces around each command.

Inside: a read-only system (/usr, /etc), the session's workspace as the only writable place besides a private,
size-capped /tmp and /dev/shm, no network, no host processes, no capabilities, a clean environment, and (when the
worker runs as root) a user id of the sandbox's own. Nothing else of the host is mounted: not the data dir, not other
sessions, not home dirs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from activities.sandbox.base import CommandResult, Limits, OutputSink
from activities.sandbox.cgroups import SandboxCgroups, delegated_subtree
from activities.sandbox.file_threads import FileThreads
from activities.sandbox.processes import run_process
from activities.sandbox.uid_pool import UidPool
from activities.sandbox.workspace_volumes import WorkspaceVolumes, volumes_available
from models.settings import Settings

T = TypeVar("T")
WORKSPACE = "/workspace"
_SYSTEM_DIRS = ("/usr", "/etc", "/opt")
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORKSPACE, "LANG": "C.UTF-8", "TERM": "dumb"}


def bwrap_argv(workspace: Path, command: str, tmp_bytes: int) -> list[str]:
    bwrap = shutil.which("bwrap")
    assert bwrap is not None
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"]
    for directory in _SYSTEM_DIRS:
        if Path(directory).exists():
            argv += ["--ro-bind", directory, directory]
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        target = Path("/") / link
        if target.is_symlink():
            argv += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.exists():
            argv += ["--ro-bind", str(target), f"/{link}"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--bind", str(workspace), WORKSPACE]
    # Memory-backed, so each is capped: without a size, a tmpfs may take half the host's memory.
    for scratch in ("/tmp", "/dev/shm"):
        argv += ["--size", str(tmp_bytes), "--tmpfs", scratch]
    # The sandbox's own root and /dev too: only the workspace and the capped scratch space take writes.
    argv += ["--remount-ro", "/dev", "--remount-ro", "/"]
    for key, value in _ENV.items():
        argv += ["--setenv", key, value]
    return [*argv, "--chdir", WORKSPACE, "bash", "-c", command]


def _ensure_traversable(directory: Path) -> None:
    """bwrap runs as the sandbox user and must reach the workspace to mount it: every parent directory gets the
    search bit for others (not the read bit, so nothing there can be listed)."""
    for parent in (directory.resolve(), *directory.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


class BubblewrapSandbox:
    def __init__(
        self, workspace: Path, uid: int | None, files: FileThreads, tmp_bytes: int, cgroups: SandboxCgroups | None
    ) -> None:
        self._workspace = workspace
        self._user = (uid, uid) if uid is not None else None
        self._files = files
        self._tmp_bytes = tmp_bytes
        self._cgroups = cgroups

    @property
    def workspace(self) -> Path:
        return self._workspace

    def adopt(self, fd: int) -> None:
        if self._user is not None:
            os.fchown(fd, *self._user)

    async def run_file_operation(self, operation: Callable[[], T]) -> T:
        return await self._files.run(self._workspace, operation)

    async def run(self, command: str, limits: Limits, on_output: OutputSink | None = None) -> CommandResult:
        group: contextlib.AbstractAsyncContextManager[Path | None] = (
            self._cgroups.command(self._workspace.name) if self._cgroups else contextlib.nullcontext()
        )
        async with group as cgroup:
            return await run_process(
                bwrap_argv(self._workspace, command, self._tmp_bytes),
                cwd="/",
                env=_ENV,
                limits=limits,
                user=self._user,
                on_output=on_output,
                cgroup=cgroup,
            )


class BubblewrapProvider:
    name = "bubblewrap"
    isolated = True

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        # Only root can give each sandbox a user of its own; otherwise commands run as the worker's user.
        self._uids = UidPool(settings.sandbox_uid_first, settings.sandbox_uid_count) if os.geteuid() == 0 else None
        self._files = FileThreads.from_settings(settings)
        self._tmp_bytes = settings.sandbox_tmp_mb * 1024 * 1024
        self._volumes = (
            WorkspaceVolumes(settings.sandbox_disk_mb * 1024 * 1024)
            if settings.sandbox_disk_mb and volumes_available()
            else None
        )
        subtree = delegated_subtree()
        self._cgroups = (
            SandboxCgroups(subtree, settings.sandbox_memory_mb * 1024 * 1024, settings.sandbox_max_processes)
            if subtree is not None
            else None
        )

    def open(self, workspace: Path) -> BubblewrapSandbox:
        if self._volumes is not None:
            self._volumes.attach(workspace, create=False)  # after a host restart: mounted again
        uid = None
        if self._uids is not None:
            # A workspace prepared before its uid came from the pool gets one now, once.
            uid = self._uids.owner(workspace) or self._own(workspace, self._uids)
        return BubblewrapSandbox(workspace, uid, self._files, self._tmp_bytes, self._cgroups)

    def prepare(self, workspace: Path) -> None:
        """The workspace belongs to the sandbox's user, who can write nowhere else."""
        workspace.mkdir(parents=True, exist_ok=True)
        if self._volumes is not None:
            self._volumes.attach(workspace, create=True)
        workspace.chmod(0o700)
        if self._uids is not None:
            _ensure_traversable(workspace.parent)
            self._own(workspace, self._uids)

    def release(self, workspace: Path) -> None:
        if self._cgroups is not None:
            self._cgroups.release(workspace.name)
        if self._volumes is not None:
            self._volumes.release(workspace)

    @staticmethod
    def _own(workspace: Path, uids: UidPool) -> int:
        uid = uids.assign(workspace)
        for path in workspace.rglob("*"):
            os.lchown(path, uid, uid)
        return uid
