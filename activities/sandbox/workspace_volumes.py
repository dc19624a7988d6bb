"""A filesystem of fixed size for each workspace: the disk quota that needs no quota support from the host.

Each workspace is an ext4 image beside it (sparse: it takes only the disk its files use), loop-mounted on the
workspace directory. A sandbox that fills its workspace fills its own image and no one else's disk; its inodes are
bounded too. This needs root and loop devices; elsewhere workspaces share the disk they are on.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

_log = logging.getLogger("turnflow.sandbox")
IMAGE_SUFFIX = ".volume"
_MOUNT_OPTIONS = "loop,nodev,nosuid,discard"  # discard: what the sandbox deletes is given back to the host


def volumes_available() -> bool:
    return (
        os.geteuid() == 0
        and Path("/dev/loop-control").exists()
        and all(shutil.which(tool) for tool in ("mkfs.ext4", "mount", "umount"))
    )


def _special_files(directory: str, names: list[str]) -> list[str]:
    """FIFOs, devices and sockets are not carried onto a volume (a snapshot drops them too)."""
    kept = (stat.S_ISREG, stat.S_ISDIR, stat.S_ISLNK)
    modes = {name: os.lstat(os.path.join(directory, name)).st_mode for name in names}
    return [name for name, mode in modes.items() if not any(kind(mode) for kind in kept)]


def _run(*argv: str) -> None:
    done = subprocess.run(argv, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.returncode}")


class WorkspaceVolumes:
    def __init__(self, size_bytes: int) -> None:
        self.size_bytes = size_bytes

    @staticmethod
    def image(workspace: Path) -> Path:
        return workspace.with_name(workspace.name + IMAGE_SUFFIX)

    def attach(self, workspace: Path, *, create: bool) -> None:
        """Mounts the workspace's volume (a no-op when it is mounted). With `create`, a workspace without one gets
        one, and whatever it already holds (a restored snapshot, files from before volumes) is moved onto it."""
        if os.path.ismount(workspace):
            return
        image = self.image(workspace)
        fresh = not image.exists()
        if fresh:
            if not create:
                return
            self._make(image)
        with image.open("rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # two tool calls after a host restart mount it once
            if not os.path.ismount(workspace):
                self._mount(image, workspace, fresh)

    def _mount(self, image: Path, workspace: Path, fresh: bool) -> None:
        workspace.mkdir(parents=True, exist_ok=True)
        staged = None
        if any(workspace.iterdir()):
            # Set aside by a rename (same disk, instant) and copied onto the volume once it is mounted.
            staged = workspace.with_name(f".{workspace.name}.moving")
            shutil.rmtree(staged, ignore_errors=True)
            workspace.rename(staged)
            workspace.mkdir()
        _run("mount", "-o", _MOUNT_OPTIONS, str(image), str(workspace))
        if fresh:
            (workspace / "lost+found").rmdir()  # not the sandbox's business; fsck makes it again when needed
        if staged is not None:
            shutil.copytree(staged, workspace, symlinks=True, dirs_exist_ok=True, ignore=_special_files)
            shutil.rmtree(staged)

    def _make(self, image: Path) -> None:
        partial = image.with_name(image.name + ".partial")
        with partial.open("wb") as file:
            file.truncate(self.size_bytes)
        # No blocks reserved for root (whose file tools write there too), a small journal, and nothing zeroed that a
        # new sparse file already reads as zeros: an empty volume takes about a megabyte of the host's disk.
        lazy = "lazy_itable_init=1,lazy_journal_init=1"
        _run("mkfs.ext4", "-q", "-F", "-m", "0", "-J", "size=4", "-E", lazy, str(partial))
        partial.replace(image)

    def release(self, workspace: Path) -> None:
        """Unmounts and deletes the volume, once the workspace has been packed into a snapshot."""
        if os.path.ismount(workspace):
            # Lazy: a command still running there (it is being killed) cannot keep the volume.
            _run("umount", "--lazy", str(workspace))
        self.image(workspace).unlink(missing_ok=True)
        try:
            workspace.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            _log.warning("workspace %s stays after its volume was released: %s", workspace, exc)


def unmount_all_under(directory: Path) -> None:
    """Unmounts every mount below `directory`, deepest first, for a test or benchmark run that is over (the images
    stay, and a later `prepare` mounts them again)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # The mount point is the fifth field, with spaces and the like written as octal escapes.
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if point.is_relative_to(directory) and point != directory:
            points.append(point)
    for point in sorted(points, key=lambda p: len(p.parts), reverse=True):
        subprocess.run(["umount", "--lazy", str(point)], check=False, capture_output=True)
