"""Running a sandboxed command as a process tree: output capped and streamed, limits enforced, killed whole."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from activities.sandbox.base import CommandFailed, CommandResult, Limits, OutputSink
from activities.sandbox.cgroups import kill_cgroup

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: the child may only call safe code


def limiting(limits: Limits, user: tuple[int, int] | None, cgroup: Path | None = None) -> Callable[[], None]:
    """A preexec_fn: resource limits, death with the worker, its cgroup, and (as root) the sandbox's own user."""
    procs = str(cgroup / "cgroup.procs") if cgroup is not None else None

    def preexec() -> None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if procs is not None:  # joined before exec, so nothing the command starts is ever outside it
            fd = os.open(procs, os.O_WRONLY)
            os.write(fd, b"0")
            os.close(fd)
        if user is not None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
        # After dropping root: RLIMIT_NPROC is not enforced for root.
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return preexec


async def run_process(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    limits: Limits,
    user: tuple[int, int] | None,
    on_output: OutputSink | None,
    cgroup: Path | None = None,
) -> CommandResult:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # one process group: a stop or a timeout kills the whole tree
        preexec_fn=limiting(limits, user, cgroup),
    )
    try:
        output, truncated = await asyncio.wait_for(_read(process, limits, on_output), timeout=limits.wall_clock_s)
    except TimeoutError:
        await _kill(process, cgroup)
        raise CommandFailed(f"the command ran past its {limits.wall_clock_s} s limit and was killed") from None
    except BaseException:
        await _kill(process, cgroup)
        raise
    code = process.returncode if process.returncode is not None else -1
    if code == -signal.SIGXCPU or code == 128 + signal.SIGXCPU:
        raise CommandFailed(f"the command used more than {limits.cpu_s} s of CPU time and was killed")
    return CommandResult(exit_code=code, output=output, truncated=truncated)


async def _read(
    process: asyncio.subprocess.Process, limits: Limits, on_output: OutputSink | None
) -> tuple[bytes, bool]:
    assert process.stdout is not None
    kept = bytearray()
    seen = 0
    while chunk := await process.stdout.read(65536):
        seen += len(chunk)
        if seen > limits.output_kill_bytes:  # the caller kills it
            raise CommandFailed(
                f"the command wrote more than {limits.output_kill_bytes // (1024 * 1024)} MiB of output and was killed"
            )
        room = limits.output_kept_bytes - len(kept)
        if room > 0:
            kept += chunk[:room]
            if on_output is not None:
                on_output(chunk[:room])
    await process.wait()
    return bytes(kept), seen > len(kept)


async def _kill(process: asyncio.subprocess.Process, cgroup: Path | None) -> None:
    """Kills the tree, then reads the pipe to its end: asyncio's wait() only returns once the pipe is closed."""
    if cgroup is not None:
        kill_cgroup(cgroup)  # also what left the process group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.stdout is not None:
        while await process.stdout.read(65536):
            pass
    await process.wait()
