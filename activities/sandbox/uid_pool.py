"""A user id of its own for each sandbox, from a configured range, when the worker runs as root.

Per-user limits then become per-sandbox limits: the kernel counts RLIMIT_NPROC per real user, and a disk quota is
kept per user, so a fork bomb or a full disk in one sandbox leaves every other sandbox its whole allowance. The
uid a workspace has is recorded as the workspace directory's owner: no table to keep, and a restarted worker (or
another on the same host) reads the same answer.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = ".sandbox-uids.lock"


class UidPool:
    def __init__(self, first: int, count: int) -> None:
        self.first = first
        self.count = count

    def owns(self, uid: int) -> bool:
        return self.first <= uid < self.first + self.count

    def owner(self, workspace: Path) -> int | None:
        """The workspace's sandbox uid, None while it has none from the pool."""
        uid = workspace.stat().st_uid
        return uid if self.owns(uid) else None

    def assign(self, workspace: Path) -> int:
        """Gives the workspace directory a uid no other workspace beside it holds: the one it has if that is
        still its own (a restored snapshot may carry a uid since given to another), else the lowest free one.
        Chosen and set under a lock, so two workers on one host never hand out the same uid."""
        root = workspace.parent
        with (root / LOCK_FILE).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            taken = {
                entry.stat(follow_symlinks=False).st_uid
                for entry in os.scandir(root)
                if entry.is_dir(follow_symlinks=False) and entry.name != workspace.name
            }
            current = workspace.stat().st_uid
            if self.owns(current) and current not in taken:
                return current
            uid = next((u for u in range(self.first, self.first + self.count) if u not in taken), None)
            if uid is None:
                raise RuntimeError(
                    f"all {self.count} sandbox uids are in use on this host; raise TURNFLOW_SANDBOX_UID_COUNT"
                )
            os.lchown(workspace, uid, uid)
            return uid
