"""Content-addressed workspace snapshots, in a directory and in a real SeaweedFS."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from activities.sandbox.snapshot_store import DirectorySnapshotStore, S3SnapshotStore, SnapshotStore
from activities.sandbox.snapshots import (
    SnapshotError,
    blob_key,
    manifest_key,
    read_manifest,
    restore_workspace,
    sync_workspace,
)
from turnflow.object_store import ObjectStore


class _CountingStore:
    """The store under test, with the keys it was asked to put."""

    def __init__(self, inner: SnapshotStore) -> None:
        self._inner = inner
        self.puts: list[str] = []

    def read(self, key: str) -> bytes | None:
        return self._inner.read(key)

    def write(self, key: str, data: bytes) -> None:
        self.puts.append(key)
        self._inner.write(key, data)

    def upload(self, key: str, source: Path) -> None:
        self.puts.append(key)
        self._inner.upload(key, source)

    def download(self, key: str, target: Path) -> None:
        self._inner.download(key, target)

    def has(self, key: str) -> bool:
        return self._inner.has(key)


def _objects(store: SnapshotStore) -> set[str]:
    """Every object in the store, listed by the store's own means (a directory walk, or S3's listing)."""
    if isinstance(store, DirectorySnapshotStore):
        return {str(path.relative_to(store.root)) for path in store.root.rglob("*") if path.is_file()}
    assert isinstance(store, S3SnapshotStore)
    listing = store._client.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}/")
    return {item["Key"].removeprefix(f"{store.prefix}/") for item in listing.get("Contents", [])}


@pytest.fixture(params=["directory", "seaweedfs"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_CountingStore]:
    if request.param == "directory":
        yield _CountingStore(DirectorySnapshotStore(tmp_path / "store"))
        return
    object_store: ObjectStore = request.getfixturevalue("object_store")
    location = object_store.snapshot_location()
    yield _CountingStore(S3SnapshotStore(replace(location, url=f"{location.url}/test-{uuid.uuid4().hex[:8]}")))


def _inner(store: _CountingStore) -> SnapshotStore:
    return store._inner


def _workspace(root: Path) -> Path:
    workspace = root / "workspace"
    (workspace / "src" / "empty").mkdir(parents=True)
    (workspace / "README.md").write_text("hello\n")
    (workspace / "src" / "run.sh").write_text("#!/bin/sh\necho run\n")
    (workspace / "src" / "run.sh").chmod(0o750)
    (workspace / "src" / "copy.md").write_text("hello\n")  # same content as README.md: one blob
    (workspace / "big.bin").write_bytes(os.urandom(3 << 20))
    return workspace


def _tree(root: Path) -> dict[str, tuple[str, int, bytes | None]]:
    tree: dict[str, tuple[str, int, bytes | None]] = {}
    for path in root.rglob("*"):
        kind = "dir" if path.is_dir() else "file"
        tree[str(path.relative_to(root))] = (
            kind,
            path.stat().st_mode & 0o777,
            path.read_bytes() if kind == "file" else None,
        )
    return tree


def test_a_workspace_comes_back_whole(store: _CountingStore, tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    (workspace / "link").symlink_to("/etc/passwd")
    first = sync_workspace(store, "s1", workspace)
    assert first.uploaded == 3, "README.md and copy.md share one blob"
    assert first.manifest_written and first.stored

    restored = tmp_path / "restored"
    restore_workspace(store, "s1", restored)
    expected = _tree(workspace)
    del expected["link"]  # links are not kept
    assert _tree(restored) == expected
    assert not (restored / "link").exists() and not (restored / "link").is_symlink()
    assert (restored / "src" / "run.sh").stat().st_mtime_ns == (workspace / "src" / "run.sh").stat().st_mtime_ns


def test_a_second_sync_uploads_only_what_changed(store: _CountingStore, tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    sync_workspace(store, "s2", workspace)
    before = _objects(_inner(store))
    store.puts.clear()

    (workspace / "src" / "run.sh").write_text("#!/bin/sh\necho changed\n")
    (workspace / "README.md").touch()  # a new mtime, the same content: hashed, not uploaded
    second = sync_workspace(store, "s2", workspace)

    assert second.uploaded == 1
    manifest = read_manifest(store, "s2")
    assert manifest is not None
    changed = blob_key(manifest.files["src/run.sh"].sha256)
    assert store.puts == [changed, manifest_key("s2")]
    assert _objects(_inner(store)) == before | {changed}


def test_a_sync_that_finds_nothing_changed_uploads_nothing(store: _CountingStore, tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    sync_workspace(store, "s3", workspace)
    store.puts.clear()
    again = sync_workspace(store, "s3", workspace)
    assert again.uploaded == 0 and not again.manifest_written and again.stored
    assert store.puts == []

    restored = tmp_path / "restored"
    restore_workspace(store, "s3", restored)
    store.puts.clear()
    assert not sync_workspace(store, "s3", restored).manifest_written, "a restored workspace matches its manifest"
    assert store.puts == []


def test_an_empty_workspace_without_a_snapshot_writes_nothing(store: _CountingStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = sync_workspace(store, "s4", tmp_path / "empty")
    assert (result.uploaded, result.manifest_written, result.stored) == (0, False, False)
    assert store.puts == []


def _snapshot_of_one_file(root: Path, session_id: str) -> tuple[DirectorySnapshotStore, dict[str, Any]]:
    """A snapshot of a workspace holding `a/f`, and its manifest as JSON to forge."""
    store = DirectorySnapshotStore(root / "store")
    workspace = root / "ws"
    (workspace / "a").mkdir(parents=True)
    (workspace / "a" / "f").write_text("original")
    sync_workspace(store, session_id, workspace)
    return store, json.loads(store.read(manifest_key(session_id)) or b"{}")


@pytest.mark.parametrize(
    "path", ["../escaped", "/etc/escaped", "a/../../escaped", "a//b", "./a", "a/./b", "", "a\\..\\b", "a\0b"]
)
def test_a_forged_manifest_cannot_write_outside_the_workspace(tmp_path: Path, path: str) -> None:
    store, body = _snapshot_of_one_file(tmp_path, "forged")
    body["files"][path] = body["files"].pop("a/f")
    store.write(manifest_key("forged"), json.dumps(body).encode())

    with pytest.raises(SnapshotError):
        restore_workspace(store, "forged", tmp_path / "restored" / "ws")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "restored" / "escaped").exists()
    assert not (tmp_path / "restored" / "ws").exists(), "nothing half-restored is left in the workspace's place"


def test_a_forged_manifest_cannot_use_a_file_as_a_directory(tmp_path: Path) -> None:
    """A file named like a directory of another entry fails instead of writing through anything."""
    store, body = _snapshot_of_one_file(tmp_path, "forged")
    body["files"]["a/f/inner"] = body["files"]["a/f"]
    store.write(manifest_key("forged"), json.dumps(body).encode())
    with pytest.raises(SnapshotError):
        restore_workspace(store, "forged", tmp_path / "restored")


def test_a_blob_that_does_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    store, body = _snapshot_of_one_file(tmp_path, "tampered")
    store.write(blob_key(body["files"]["a/f"]["sha256"]), b"tampered")
    with pytest.raises(SnapshotError, match="content hash"):
        restore_workspace(store, "tampered", tmp_path / "restored")


def test_the_seaweedfs_store_refuses_a_wrong_key(object_store: ObjectStore) -> None:
    """The dev stack's store is not open to anyone on the machine: its static key is required."""
    client = boto3.client(
        "s3",
        endpoint_url=object_store.endpoint_url,
        aws_access_key_id=object_store.access_key_id,
        aws_secret_access_key="not-the-secret",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )
    with pytest.raises(client.exceptions.ClientError):
        client.put_object(Bucket=object_store.bucket, Key="intruder", Body=b"x")
