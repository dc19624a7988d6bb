"""`turnflow keys` as an operator runs it: a real process against a real, migrated database."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from models.keys import hash_key
from models.tables import Account, ApiKey


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
async def keys_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@dataclass(frozen=True)
class Cli:
    """`turnflow` as a child process, pointed at the test database unless told otherwise."""

    database_url: str
    data_dir: Path

    async def __call__(self, *args: str, database: str | None = None) -> Run:
        env = {
            **os.environ,
            "TURNFLOW_DATABASE_URL": database or self.database_url,
            "TURNFLOW_DATA_DIR": str(self.data_dir),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "turnflow.cli",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return Run(proc.returncode, out.decode(), err.decode())


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path)


def _account() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def _assert_one_line_error(run: Run) -> None:
    assert run.code != 0
    assert run.out == ""
    assert "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) == 1, run.err


async def test_create_prints_only_the_key_and_stores_only_its_hash(cli: Cli, keys_engine: AsyncEngine) -> None:
    account = _account()
    run = await cli("keys", "create", "--account", account, "--name", "laptop")
    assert run.code == 0, run.err
    raw = run.out.strip()
    assert run.out == raw + "\n" and raw.startswith("tf_")

    async with keys_engine.connect() as conn:
        rows = (
            (await conn.execute(select(ApiKey.__table__).join(Account).where(Account.name == account))).mappings().all()
        )
    assert len(rows) == 1
    row = rows[0]
    assert row["key_hash"] == hash_key(raw)
    assert row["name"] == "laptop"
    assert row["revoked_at"] is None
    assert all(raw not in str(value) for value in row.values())


async def test_list_shows_keys_but_never_the_key_itself(cli: Cli) -> None:
    account = _account()
    first = (await cli("keys", "create", "--account", account)).out.strip()
    second = (await cli("keys", "create", "--account", account, "--name", "ci")).out.strip()

    listing = await cli("keys", "list", "--account", account)
    assert listing.code == 0, listing.err
    assert first not in listing.out and second not in listing.out
    lines = listing.out.strip().splitlines()
    assert lines[0].split() == ["ID", "PREFIX", "NAME", "CREATED", "REVOKED"]
    assert len(lines) == 3  # one account, created once, holding both keys
    assert first[:10] in listing.out and second[:10] in listing.out


async def test_revoke_sets_revoked_at(cli: Cli, keys_engine: AsyncEngine) -> None:
    account = _account()
    raw = (await cli("keys", "create", "--account", account)).out.strip()
    async with keys_engine.connect() as conn:
        key_id = (await conn.execute(select(ApiKey.id).where(ApiKey.key_hash == hash_key(raw)))).scalar_one()

    run = await cli("keys", "revoke", str(key_id))
    assert run.code == 0, run.err
    async with keys_engine.connect() as conn:
        revoked_at = (await conn.execute(select(ApiKey.revoked_at).where(ApiKey.id == key_id))).scalar_one()
    assert revoked_at is not None

    again = await cli("keys", "revoke", str(key_id))
    assert again.code == 0 and "already revoked" in again.out
    listing = await cli("keys", "list", "--account", account)
    assert listing.out.strip().splitlines()[1].split()[-1] != "-"


@pytest.mark.parametrize("key_id", [str(uuid.uuid4()), "not-a-key-id"])
async def test_unknown_key_id_is_a_one_line_error(cli: Cli, key_id: str) -> None:
    _assert_one_line_error(await cli("keys", "revoke", key_id))


async def test_unknown_account_is_a_one_line_error(cli: Cli) -> None:
    _assert_one_line_error(await cli("keys", "list", "--account", _account()))


async def test_unreachable_database_is_a_one_line_error(cli: Cli, tmp_path: Path) -> None:
    nowhere = f"postgresql+asyncpg://postgres@/turnflow?host={tmp_path / 'no-server'}"
    run = await cli("keys", "create", "--account", _account(), database=nowhere)
    _assert_one_line_error(run)
    assert "no-server" in run.err
