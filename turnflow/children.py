"""Child processes of `turnflow dev`: started so they never outlive it, stopped politely and then firmly."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when `turnflow dev` dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the child may only call async-signal-safe code
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path | None = None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def describe_exit(self) -> str:
        where = f" (log: {self.log})" if self.log else ""
        return f"{self.name} exited unexpectedly with code {self.returncode}{where}"

    async def stop(self, deadline_s: float) -> None:
        """SIGTERM to the child's process group, SIGKILL if it is still there after `deadline_s`."""
        if self.process.returncode is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), deadline_s)
        except TimeoutError:
            print(f"{self.name} did not stop within {deadline_s:g} s; killing it", file=sys.stderr, flush=True)
            self._signal_group(signal.SIGKILL)
            await self.process.wait()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


async def spawn(name: str, argv: Sequence[str], *, env: Mapping[str, str], log: Path | None = None) -> Child:
    """Its own process group keeps the terminal's Ctrl-C away from it: `turnflow dev` decides the stop order.

    Output is appended to `log` when given, else shares our stdout and stderr.
    """
    with contextlib.ExitStack() as files:
        output = files.enter_context(log.open("ab")) if log else None  # the child keeps its own descriptor
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT if output else None,
            process_group=0,
            preexec_fn=_die_with_parent(),
        )
    return Child(name=name, process=process, log=log)
