"""A cgroup (v2) per sandbox, where the host delegates a subtree to the worker.

The kernel then holds all of a sandbox's processes together to its memory (without swap) and process limits, its
memory-backed /tmp included, whatever uid they run as; and each command has a cgroup of its own inside, so a command
that is stopped or runs out of time is killed with everything it started, at once.

The delegation is looked for beside the worker: the parent of its own cgroup, when that parent offers the memory and
pids controllers, is writable and holds no process itself (systemd: `Delegate=yes` with `DelegateSubgroup=worker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

_log = logging.getLogger("turnflow.sandbox")
CGROUP_FS = Path("/sys/fs/cgroup")
OWN_CGROUP = Path("/proc/self/cgroup")
_CONTROLLERS = ("memory", "pids")
_EMPTY_WAIT_S = 2.0


def delegated_subtree(fs: Path = CGROUP_FS, own: Path = OWN_CGROUP) -> Path | None:
    """Where sandbox cgroups may go, with the memory and pids controllers enabled for them; None without one."""
    try:
        unified = next((line[3:] for line in own.read_text().splitlines() if line.startswith("0::")), None)
        if unified is None or not (fs / "cgroup.controllers").exists():
            return None  # cgroup v1 (or a hybrid host): no delegation to use
        parent = (fs / unified.lstrip("/")).parent
        if not parent.is_relative_to(fs):
            return None
        if not set(_CONTROLLERS) <= set((parent / "cgroup.controllers").read_text().split()):
            return None
        if (parent / "cgroup.procs").read_text().strip():
            return None  # controllers cannot be handed to children of a cgroup that holds processes
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in _CONTROLLERS))
    except OSError as exc:
        _log.info("no delegated cgroup for sandboxes: %s", exc)
        return None
    return parent


class SandboxCgroups:
    def __init__(self, subtree: Path, memory_bytes: int, processes: int) -> None:
        self._subtree = subtree
        self._memory_bytes = memory_bytes
        self._processes = processes

    def _sandbox(self, name: str) -> Path:
        group = self._subtree / f"sandbox-{name}"
        if not group.exists():
            group.mkdir(exist_ok=True)
            (group / "memory.max").write_text(str(self._memory_bytes))
            (group / "pids.max").write_text(str(self._processes))
            with contextlib.suppress(FileNotFoundError):  # absent where the kernel keeps no swap accounts
                (group / "memory.swap.max").write_text("0")
        return group

    @contextlib.asynccontextmanager
    async def command(self, name: str) -> AsyncIterator[Path]:
        """A cgroup for one command of sandbox `name`; whatever is left in it at the end is killed."""
        group = self._sandbox(name) / f"command-{uuid.uuid4().hex[:12]}"
        group.mkdir()
        try:
            yield group
        finally:
            kill_cgroup(group)
            give_up_at = time.monotonic() + _EMPTY_WAIT_S
            while True:  # polled: the kernel tells of an emptied cgroup only through a file to watch
                if _removed(group, give_up_at):
                    break
                await asyncio.sleep(0.01)

    def release(self, name: str) -> None:
        """Kills what is left of the sandbox and removes its cgroups (from a thread: it waits for them to empty)."""
        group = self._subtree / f"sandbox-{name}"
        give_up_at = time.monotonic() + _EMPTY_WAIT_S
        for inner in [*group.glob("command-*"), group]:
            kill_cgroup(inner)
            while not _removed(inner, give_up_at):
                time.sleep(0.01)


def kill_cgroup(group: Path) -> None:
    """Every process in the cgroup, at once (cgroup.kill: no process can fork away from it)."""
    with contextlib.suppress(OSError):
        (group / "cgroup.kill").write_text("1")


def _removed(group: Path, give_up_at: float) -> bool:
    """Whether the cgroup is gone (or given up on: one that will not empty is left and logged). A killed process
    leaves its cgroup a moment after the kill."""
    try:
        group.rmdir()
    except FileNotFoundError:
        pass
    except OSError as exc:
        if time.monotonic() < give_up_at:
            return False
        _log.warning("cgroup %s was not removed: %s", group, exc)
    return True
