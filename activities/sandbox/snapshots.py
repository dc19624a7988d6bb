"""Hibernation: a workspace packed into a snapshot file and removed; restoring unpacks it again."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path


def snapshot_workspace(workspace: Path, snapshot: Path) -> None:
    """Written beside its final name and renamed, so a crash never leaves half a snapshot behind."""
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    partial = snapshot.with_suffix(".partial")
    with tarfile.open(partial, "w:gz") as archive:
        if workspace.exists():
            archive.add(workspace, arcname=".")
    partial.replace(snapshot)
    shutil.rmtree(workspace, ignore_errors=True)


def restore_workspace(snapshot: Path, workspace: Path) -> None:
    workspace.mkdir(parents=True, exist_ok=True)
    with tarfile.open(snapshot, "r:gz") as archive:
        archive.extractall(workspace, filter="data")  # refuses links and paths that leave the workspace
