"""Workspace snapshots, content-addressed: a manifest per session (path -> sha256, size, mode, mtime) and one blob
per distinct file content, so a file that did not change is never uploaded again and a sync that finds nothing
changed uploads nothing.

Layout in the store: `manifests/<session id>.json` and `blobs/<first two hex digits>/<sha256>`. Symbolic links,
FIFOs, devices and sockets are not kept (each is logged); restoring refuses any path that would leave the workspace
and never follows a link."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from activities.sandbox.snapshot_store import SnapshotStore

_log = logging.getLogger("turnflow.snapshots")
MANIFEST_VERSION = 1
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_CHUNK = 1 << 20
_TRANSFERS = 8
T = TypeVar("T")
R = TypeVar("R")
# Snapshots written as one archive file before the store existed; still restored so no session loses its files.
LEGACY_ARCHIVE_SUFFIX = ".tar.gz"


class SnapshotError(OSError):
    """A snapshot that cannot be restored as it is: missing, malformed, or naming a path outside the workspace."""


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int
    mode: int
    mtime_ns: int


@dataclass(frozen=True)
class Manifest:
    files: dict[str, FileEntry]
    dirs: dict[str, int]

    def to_json(self) -> bytes:
        files = {path: vars(entry) for path, entry in sorted(self.files.items())}
        body = {"version": MANIFEST_VERSION, "dirs": dict(sorted(self.dirs.items())), "files": files}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            body = json.loads(data)
            if body.get("version") != MANIFEST_VERSION:
                raise SnapshotError(f"unknown snapshot manifest version {body.get('version')!r}")
            dirs = {_safe_path(path): _mode(mode) for path, mode in body["dirs"].items()}
            files = {_safe_path(path): _file_entry(entry) for path, entry in body["files"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SnapshotError(f"malformed snapshot manifest: {exc}") from exc
        return cls(files, dirs)


EMPTY = Manifest({}, {})


@dataclass(frozen=True)
class SyncResult:
    """What a sync did: `uploaded` blobs put into the store, and whether the manifest changed."""

    uploaded: int
    manifest_written: bool
    stored: bool  # the store holds a manifest for the session (now or from before)


def manifest_key(session_id: str) -> str:
    if not _SESSION_ID.fullmatch(session_id):
        raise ValueError(f"session id {session_id!r} cannot name a snapshot")
    return f"manifests/{session_id}.json"


def blob_key(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256}"


def read_manifest(store: SnapshotStore, session_id: str) -> Manifest | None:
    data = store.read(manifest_key(session_id))
    return None if data is None else Manifest.from_json(data)


def sync_workspace(store: SnapshotStore, session_id: str, workspace: Path) -> SyncResult:
    """Puts the workspace's changes since the last sync into the store: new contents first, then the manifest that
    names them, so a manifest never names a blob the store lacks. A file whose size and mtime match the last
    manifest is taken as unchanged; any other is hashed, and uploaded only when its content is new."""
    previous = read_manifest(store, session_id)
    base = previous or EMPTY
    current = _scan(workspace, base)
    known = {entry.sha256 for entry in base.files.values()}
    new: dict[str, str] = {}  # content hash -> one path that holds it
    for path, entry in current.files.items():
        if entry.sha256 not in known:
            new.setdefault(entry.sha256, path)

    def upload(sha256: str) -> bool:
        if store.has(blob_key(sha256)):  # another session's, or an earlier attempt's
            return False
        store.upload(blob_key(sha256), workspace / new[sha256])
        return True

    uploaded = sum(_in_parallel(upload, list(new)))
    written = current != base
    if written:
        store.write(manifest_key(session_id), current.to_json())
    return SyncResult(uploaded, written, written or previous is not None)


def restore_workspace(store: SnapshotStore, session_id: str, workspace: Path) -> None:
    """Builds the workspace from the session's manifest beside its final place and renames it there, so a crash
    mid-restore leaves no half workspace that a retry would take for a whole one."""
    manifest = read_manifest(store, session_id)
    if manifest is None:
        raise SnapshotError(f"session {session_id}: its snapshot is missing from the store")
    staging = workspace.with_name(f".restoring-{workspace.name}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700, parents=True)
    for path in sorted(manifest.dirs, key=lambda p: p.count("/")):
        os.mkdir(staging / path, 0o700)
    _in_parallel(lambda item: _restore_file(store, staging, *item), list(manifest.files.items()))
    for path, mode in sorted(manifest.dirs.items(), key=lambda item: -item[0].count("/")):
        os.chmod(staging / path, mode, follow_symlinks=False)
    staging.replace(workspace)


def restore_legacy_archive(archive: Path, workspace: Path) -> None:
    """A snapshot from before the store: one tar.gz file."""
    workspace.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as packed:
        packed.extractall(workspace, filter="data")  # refuses links and paths that leave the workspace


def _in_parallel(work: Callable[[T], R], items: list[T]) -> list[R]:
    """A store answers many requests at once; one at a time, a workspace of many small files takes minutes."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=_TRANSFERS, thread_name_prefix="snapshot") as pool:
        return list(pool.map(work, items))


def _restore_file(store: SnapshotStore, root: Path, path: str, entry: FileEntry) -> None:
    target = root / path
    if not os.path.isdir(target.parent) or os.path.islink(target.parent):
        raise SnapshotError(f"snapshot file {path!r} lies under no directory of the snapshot")
    partial = target.with_name(f".partial-{target.name}")
    store.download(blob_key(entry.sha256), partial)
    if _hash(partial) != entry.sha256:
        raise SnapshotError(f"snapshot file {path!r} does not match its content hash")
    os.chmod(partial, entry.mode)
    os.utime(partial, ns=(entry.mtime_ns, entry.mtime_ns))
    partial.rename(target)


def _scan(workspace: Path, base: Manifest) -> Manifest:
    files: dict[str, FileEntry] = {}
    dirs: dict[str, int] = {}
    if workspace.is_dir():
        _scan_into(workspace, "", base, files, dirs)
    return Manifest(files, dirs)


def _scan_into(directory: Path, prefix: str, base: Manifest, files: dict[str, FileEntry], dirs: dict[str, int]) -> None:
    with os.scandir(directory) as entries:
        for item in sorted(entries, key=lambda e: e.name):
            path = f"{prefix}{item.name}"
            info = item.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                dirs[path] = stat.S_IMODE(info.st_mode) & 0o777
                _scan_into(Path(item.path), f"{path}/", base, files, dirs)
            elif stat.S_ISREG(info.st_mode):
                entry = _file_entry_of(Path(item.path), path, info, base)
                if entry is not None:
                    files[path] = entry
            else:
                _log.info("snapshot skips %s: not a regular file or directory", path)


def _file_entry_of(file: Path, path: str, info: os.stat_result, base: Manifest) -> FileEntry | None:
    mode = stat.S_IMODE(info.st_mode) & 0o777
    known = base.files.get(path)
    if known is not None and known.size == info.st_size and known.mtime_ns == info.st_mtime_ns:
        return FileEntry(known.sha256, info.st_size, mode, info.st_mtime_ns)
    try:
        sha256 = _hash(file)
    except SnapshotError as exc:
        _log.info("snapshot skips %s: %s", path, exc)
        return None
    return FileEntry(sha256, info.st_size, mode, info.st_mtime_ns)


def _hash(file: Path) -> str:
    """Opened without following a link or blocking on a FIFO swapped in meanwhile, and only if regular."""
    fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SnapshotError("no longer a regular file")
        digest = hashlib.sha256()
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _safe_path(path: Any) -> str:
    """A relative path inside the workspace: no absolute path, no `..`, no empty or `.` part."""
    if not isinstance(path, str) or not path or "\0" in path or "\\" in path:
        raise SnapshotError(f"snapshot names an invalid path {path!r}")
    if path.startswith("/") or any(part in ("", ".", "..") for part in path.split("/")):
        raise SnapshotError(f"snapshot names a path outside the workspace: {path!r}")
    return path


def _mode(value: Any) -> int:
    if not isinstance(value, int) or not 0 <= value <= 0o777:
        raise SnapshotError(f"snapshot names an invalid mode {value!r}")
    return value


def _file_entry(entry: Any) -> FileEntry:
    sha256 = entry["sha256"]
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise SnapshotError(f"snapshot names an invalid content hash {sha256!r}")
    size, mtime_ns = entry["size"], entry["mtime_ns"]
    if not isinstance(size, int) or not isinstance(mtime_ns, int) or size < 0:
        raise SnapshotError("snapshot names an invalid size or time")
    return FileEntry(sha256, size, _mode(entry["mode"]), mtime_ns)
