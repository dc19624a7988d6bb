"""Where a process keeps snapshots: its own setting, else the dev stack it joins by data dir, else a directory."""

from __future__ import annotations

import json
from pathlib import Path

from models.settings import STACK_FILE, Settings, SnapshotStoreLocation


def test_without_a_setting_or_a_stack_snapshots_go_to_the_data_dir(tmp_path: Path) -> None:
    location = Settings(data_dir=tmp_path).resolved_snapshot_store()
    assert location == SnapshotStoreLocation(str(tmp_path / "snapshots"))
    assert not location.is_s3


def test_a_process_joining_a_dev_stack_uses_its_object_store(tmp_path: Path) -> None:
    stack = {
        "database_url": "postgresql+asyncpg://x/y",
        "snapshot_store": "s3://turnflow/snapshots",
        "s3_endpoint_url": "http://127.0.0.1:9",
        "s3_access_key_id": "key",
        "s3_secret_access_key": "secret",
    }
    (tmp_path / STACK_FILE).write_text(json.dumps(stack))
    location = Settings(data_dir=tmp_path).resolved_snapshot_store()
    assert location == SnapshotStoreLocation("s3://turnflow/snapshots", "http://127.0.0.1:9", "key", "secret")
    assert location.is_s3


def test_the_setting_wins_over_the_stack(tmp_path: Path) -> None:
    (tmp_path / STACK_FILE).write_text(json.dumps({"snapshot_store": "s3://stack/snapshots"}))
    settings = Settings(data_dir=tmp_path, snapshot_store="s3://mine/prefix", s3_endpoint_url="http://store:8333")
    location = settings.resolved_snapshot_store()
    assert location == SnapshotStoreLocation("s3://mine/prefix", "http://store:8333")
