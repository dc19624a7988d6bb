"""Commands as plain processes in the workspace directory, for machines without bubblewrap (development only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from activities.sandbox.base import CommandResult, Limits, OutputSink
from activities.sandbox.file_threads import FileThreads
from activities.sandbox.processes import run_process
from models.settings import Settings

T = TypeVar("T")

_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ")


class UnisolatedSandbox:
    def __init__(self, workspace: Path, env: dict[str, str], files: FileThreads) -> None:
        self._workspace = workspace
        self._env = env
        self._files = files

    @property
    def workspace(self) -> Path:
        return self._workspace

    def adopt(self, fd: int) -> None:
        """Files already belong to the worker's user, as the commands do."""

    async def run_file_operation(self, operation: Callable[[], T]) -> T:
        return await self._files.run(self._workspace, operation)

    async def run(self, command: str, limits: Limits, on_output: OutputSink | None = None) -> CommandResult:
        return await run_process(
            ["bash", "-c", command],
            cwd=str(self._workspace),
            env=self._env | {"HOME": str(self._workspace)},
            limits=limits,
            user=None,
            on_output=on_output,
        )


class UnisolatedProvider:
    name = "process"
    isolated = False

    def __init__(self, env: dict[str, str], settings: Settings | None = None) -> None:
        # Only what a shell needs: the worker's own secrets (database URL, API keys) never reach a command.
        self._env = {k: v for k, v in env.items() if k in _ENV_KEEP}
        self._files = FileThreads.from_settings(settings or Settings())

    def open(self, workspace: Path) -> UnisolatedSandbox:
        return UnisolatedSandbox(workspace, self._env, self._files)

    def prepare(self, workspace: Path) -> None:
        workspace.mkdir(parents=True, exist_ok=True)

    def release(self, workspace: Path) -> None:
        """Nothing was taken: the workspace is a plain directory."""
