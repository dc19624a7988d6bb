"""A fresh source database per test on the session's embedded PostgreSQL; the import writes into the session's
migrated turnflow database, where each test's rows have ids of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from models.database import asyncpg_dsn
from tests.databases import drop_database
from tests.importing.source_db import create_source_database
from turnflow.importing.progress import SilentProgress
from turnflow.importing.report import ImportReport
from turnflow.importing.runner import ImportOptions, run_import


@pytest.fixture
async def source_url(pg_server_url: str) -> AsyncIterator[str]:
    url = await create_source_database(pg_server_url)
    yield url
    await drop_database(pg_server_url, url)


@pytest.fixture
async def source(source_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(source_url))
    yield conn
    await conn.close()


@pytest.fixture
async def target(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


@dataclass(frozen=True)
class Importer:
    """`turnflow import` in this process, against the test's source and the session's turnflow database."""

    source_url: str
    target_url: str

    async def __call__(self, shape: str, **options: Any) -> ImportReport:
        if shape != "jsonl":
            options.setdefault("source_url", self.source_url)
        return await run_import(ImportOptions(shape=shape, target_url=self.target_url, **options), SilentProgress())


@pytest.fixture
def run_import_into(source_url: str, database_url: str) -> Importer:
    return Importer(source_url, database_url)


@pytest.fixture
def report_path(tmp_path: Path) -> Path:
    return tmp_path / "report.json"
