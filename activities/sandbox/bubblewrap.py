"""The local sandbox: bubblewrap namespaces around each command.

Inside: a read-only system (/usr, /etc), the session's workspace as the only writable place, a private /tmp, no
network, no host processes, no capabilities, a clean environment, and (when the worker runs as root) an
unprivileged user. Nothing else of the host is mounted: not the data dir, not other sessions, not home dirs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from activities.sandbox.base import CommandResult, Limits, OutputSink
from activities.sandbox.processes import run_process

SANDBOX_USER = "turnflow-sandbox"
WORKSPACE = "/workspace"
_SYSTEM_DIRS = ("/usr", "/etc", "/opt")
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORKSPACE, "LANG": "C.UTF-8", "TERM": "dumb"}


def sandbox_user() -> tuple[int, int] | None:
    """As root, commands run as a dedicated system user (created on first use); otherwise as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        created = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SANDBOX_USER],
            check=False,
            capture_output=True,
        )
        try:
            entry = pwd.getpwnam(SANDBOX_USER)  # also when another worker created it at the same moment
        except KeyError:
            raise RuntimeError(f"cannot create the {SANDBOX_USER} user: {created.stderr.decode().strip()}") from None
    return entry.pw_uid, entry.pw_gid


def bwrap_argv(workspace: Path, command: str) -> list[str]:
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
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", str(workspace), WORKSPACE]
    argv += ["--remount-ro", "/"]  # the sandbox's own root too: only the workspace and /tmp take writes
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
    def __init__(self, workspace: Path, user: tuple[int, int] | None) -> None:
        self._workspace = workspace
        self._user = user

    @property
    def workspace(self) -> Path:
        return self._workspace

    def adopt(self, fd: int) -> None:
        if self._user is not None:
            os.fchown(fd, *self._user)

    async def run(self, command: str, limits: Limits, on_output: OutputSink | None = None) -> CommandResult:
        return await run_process(
            bwrap_argv(self._workspace, command),
            cwd="/",
            env=_ENV,
            limits=limits,
            user=self._user,
            on_output=on_output,
        )


class BubblewrapProvider:
    name = "bubblewrap"
    isolated = True

    def __init__(self) -> None:
        self._user = sandbox_user()

    def open(self, workspace: Path) -> BubblewrapSandbox:
        return BubblewrapSandbox(workspace, self._user)

    def prepare(self, workspace: Path) -> None:
        """The workspace belongs to the sandbox user, who can write nowhere else."""
        workspace.mkdir(parents=True, exist_ok=True)
        workspace.chmod(0o700)
        if self._user is not None:
            _ensure_traversable(workspace.parent)
        if self._user is not None:
            for path in (workspace, *workspace.rglob("*")):
                os.lchown(path, *self._user)
