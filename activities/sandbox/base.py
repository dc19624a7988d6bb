"""The Sandbox interface: a session's workspace and a way to run commands confined to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

# Called with each piece of output as it arrives, for streaming long commands to the client.
OutputSink = Callable[[bytes], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """What one command may use; exceeding any of them ends it with a clear tool error."""

    wall_clock_s: int = 60
    cpu_s: int = 60
    memory_bytes: int = 1024 * 1024 * 1024
    processes: int = 256
    file_bytes: int = 256 * 1024 * 1024
    output_kept_bytes: int = 64 * 1024
    output_kill_bytes: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    output: bytes
    truncated: bool


class CommandFailed(Exception):
    """The command broke a limit (time, output) and was killed; the message is for the model."""


class SandboxLimitReached(Exception):
    """A file operation on the workspace took too long or found the workspace's share of threads taken; the
    message is for the model."""


class Sandbox(Protocol):
    @property
    def workspace(self) -> Path:
        """The session's files, as the worker sees them."""
        ...

    async def run(self, command: str, limits: Limits, on_output: OutputSink | None = None) -> CommandResult:
        """Runs a bash command line; cancelling the call kills the command's whole process tree."""
        ...

    def adopt(self, fd: int) -> None:
        """Gives a file or directory the worker created (open as `fd`) to the sandbox, so commands may change it."""
        ...

    async def run_file_operation(self, operation: Callable[[], T]) -> T:
        """Runs a blocking operation on the workspace's files in the provider's own threads, with a time limit."""
        ...


class SandboxProvider(Protocol):
    name: str
    isolated: bool

    def open(self, workspace: Path) -> Sandbox: ...

    def prepare(self, workspace: Path) -> None:
        """Makes the workspace (and everything in it) the sandbox's own."""
        ...

    def release(self, workspace: Path) -> None:
        """Gives back what `prepare` took from the host, once the workspace has been packed into a snapshot."""
        ...
