"""The threads file tools run on: a pool of their own, a share of it per workspace, and a time limit per call.

A file operation is a blocking system call that cannot be cancelled. Whatever a workspace holds, its calls can take
at most its share of this pool and never a thread of the event loop's default executor, so one session's stuck
call cannot stall another session's tools (or anything else the worker runs in threads).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from activities.sandbox.base import SandboxLimitReached
from models.settings import Settings

T = TypeVar("T")


class _Share:
    """One workspace's slots; `users` counts callers waiting for a slot and calls still running in a thread."""

    def __init__(self, size: int) -> None:
        self.slots = asyncio.Semaphore(size)
        self.users = 0


class FileThreads:
    def __init__(self, threads: int = 16, per_workspace: int = 4, timeout_s: float = 10.0) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="turnflow-files")
        self._per_workspace = min(per_workspace, threads)
        self.timeout_s = timeout_s
        self._shares: dict[Path, _Share] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> FileThreads:
        return cls(settings.file_tool_threads, settings.file_tool_threads_per_session, settings.file_tool_timeout_s)

    async def run(self, workspace: Path, operation: Callable[[], T]) -> T:
        """The operation's result, or SandboxLimitReached when it (or the wait for a slot) takes too long.

        A call that times out keeps its slot until its thread really returns: a workspace whose calls hang runs
        out of its own share and no one else's.
        """
        loop = asyncio.get_running_loop()
        share = self._shares.setdefault(workspace, _Share(self._per_workspace))
        share.users += 1
        deadline = time.monotonic() + self.timeout_s
        try:
            await asyncio.wait_for(share.slots.acquire(), self.timeout_s)
        except TimeoutError:
            self._leave(workspace, share)
            raise SandboxLimitReached(
                f"this workspace's earlier file operations are still running after {self.timeout_s:g} s; "
                "try again later"
            ) from None
        except BaseException:
            self._leave(workspace, share)
            raise
        future = self._pool.submit(operation)
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._release, workspace, share))
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), deadline - time.monotonic())
        except TimeoutError:
            future.cancel()  # only stops a call still waiting for a thread
            raise SandboxLimitReached(f"the file operation did not finish within {self.timeout_s:g} s") from None

    def _release(self, workspace: Path, share: _Share) -> None:
        share.slots.release()
        self._leave(workspace, share)

    def _leave(self, workspace: Path, share: _Share) -> None:
        share.users -= 1
        if share.users == 0:
            del self._shares[workspace]
