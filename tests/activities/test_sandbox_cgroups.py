"""Per-sandbox cgroups: found only where the host really delegates a subtree, and, there, holding a sandbox's
processes and memory together."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.sandbox.base import Limits
from activities.sandbox.bubblewrap import BubblewrapProvider
from activities.sandbox.cgroups import delegated_subtree
from models.settings import Settings


def _cgroup_fs(tmp_path: Path, controllers: str, procs: str) -> tuple[Path, Path]:
    """A stand-in for /sys/fs/cgroup and /proc/self/cgroup: the worker in service/worker, as systemd's
    DelegateSubgroup= puts it."""
    fs = tmp_path / "cgroup"
    service = fs / "service"
    (service / "worker").mkdir(parents=True)
    (fs / "cgroup.controllers").write_text("cpu memory pids\n")
    (service / "cgroup.controllers").write_text(controllers)
    (service / "cgroup.procs").write_text(procs)
    (service / "cgroup.subtree_control").write_text("")
    own = tmp_path / "own-cgroup"
    own.write_text("0::/service/worker\n")
    return fs, own


def test_a_delegated_parent_gets_the_controllers_enabled_for_sandboxes(tmp_path: Path) -> None:
    fs, own = _cgroup_fs(tmp_path, controllers="cpu io memory pids\n", procs="")
    assert delegated_subtree(fs, own) == fs / "service"
    assert (fs / "service" / "cgroup.subtree_control").read_text() == "+memory +pids"


@pytest.mark.parametrize(
    ("controllers", "procs", "why"),
    [
        ("cpu io\n", "", "memory and pids are not offered"),
        ("memory pids\n", "1234\n", "the parent holds a process, so it cannot hand controllers down"),
    ],
)
def test_no_delegation_means_no_cgroups(tmp_path: Path, controllers: str, procs: str, why: str) -> None:
    fs, own = _cgroup_fs(tmp_path, controllers, procs)
    assert delegated_subtree(fs, own) is None, why
    assert (fs / "service" / "cgroup.subtree_control").read_text() == ""


def test_a_cgroup_v1_host_has_none(tmp_path: Path) -> None:
    fs, own = _cgroup_fs(tmp_path, controllers="memory pids\n", procs="")
    (fs / "cgroup.controllers").unlink()  # v1 hierarchies under a tmpfs, as on a hybrid host
    assert delegated_subtree(fs, own) is None


@pytest.mark.skipif(delegated_subtree() is None, reason="this host delegates no cgroup v2 subtree to the worker")
async def test_a_sandbox_memory_and_processes_are_held_together(tmp_path: Path) -> None:
    provider = BubblewrapProvider(
        Settings(sandbox_memory_mb=128, sandbox_max_processes=32, sandbox_tmp_mb=512, sandbox_disk_mb=0)
    )
    hostile, calm = tmp_path / "hostile", tmp_path / "calm"
    for workspace in (hostile, calm):
        provider.prepare(workspace)
    # Each process's own limits out of the way: only the sandbox's cgroup can stop these.
    unlimited = Limits(processes=100_000, memory_bytes=4 * 1024**3)
    try:
        filled = await provider.open(hostile).run("head -c 400M /dev/zero > /tmp/fill; echo exit=$?", unlimited)
        assert b"exit=0" not in filled.output, "a memory-backed /tmp counts against the sandbox's memory"
        forks = "for i in $(seq 64); do sleep 2 & done; wait; echo done"
        forked = await provider.open(hostile).run(forks, unlimited)
        assert b"Resource temporarily unavailable" in forked.output
        assert (await provider.open(calm).run("echo fine", Limits())).output == b"fine\n"
    finally:
        for workspace in (hostile, calm):
            provider.release(workspace)
