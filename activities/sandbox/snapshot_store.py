"""Where workspace snapshots are kept: a directory on this host, or an S3-compatible object store that every
worker reaches, so a session can come back on any host. Keys are relative paths such as `blobs/ab/ab12…`.

The methods block (file and network I/O): callers run them in a thread."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from models.settings import SnapshotStoreLocation

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}


class SnapshotStore(Protocol):
    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""

    def write(self, key: str, data: bytes) -> None:
        """Replaces the object whole: a reader sees the old bytes or the new, never a mix."""

    def upload(self, key: str, source: Path) -> None: ...

    def download(self, key: str, target: Path) -> None: ...

    def has(self, key: str) -> bool: ...


class DirectorySnapshotStore:
    """Objects as files under one directory; the zero-setup default for a single host."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        with self._partial(key) as partial:
            partial.write_bytes(data)

    def upload(self, key: str, source: Path) -> None:
        with self._partial(key) as partial:
            shutil.copyfile(source, partial, follow_symlinks=False)

    def download(self, key: str, target: Path) -> None:
        shutil.copyfile(self._path(key), target)

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    def _partial(self, key: str) -> _Partial:
        return _Partial(self._path(key))


class _Partial:
    """A file written beside its final name and renamed into place, so a crash never leaves half an object."""

    def __init__(self, final: Path) -> None:
        self._final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=".partial-")
        os.close(fd)
        self._path = Path(name)

    def __enter__(self) -> Path:
        return self._path

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self._path.replace(self._final)
        else:
            self._path.unlink(missing_ok=True)


class S3SnapshotStore:
    """Objects in a bucket under a prefix, through boto3 (AWS S3, SeaweedFS, MinIO, ...)."""

    def __init__(self, location: SnapshotStoreLocation) -> None:
        bucket, _, prefix = location.url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"snapshot store {location.url!r} names no bucket: use s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client: S3Client = boto3.client(
            "s3",
            endpoint_url=location.endpoint_url,
            aws_access_key_id=location.access_key_id,
            aws_secret_access_key=location.secret_access_key,
            # Temporal is the only retrier; a store that does not answer fails the activity attempt.
            config=Config(
                retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60, s3={"addressing_style": "path"}
            ),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return response["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def upload(self, key: str, source: Path) -> None:
        with source.open("rb") as body:
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body)

    def download(self, key: str, target: Path) -> None:
        self._client.download_file(self.bucket, self._key(key), str(target))

    def has(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True


def open_snapshot_store(location: SnapshotStoreLocation) -> SnapshotStore:
    if location.is_s3:
        return S3SnapshotStore(location)
    return DirectorySnapshotStore(Path(location.url))
