"""`turnflow import rooms` at the seed's scale (23,252 rooms, 46,212 memories, 347 rooms of deleted accounts):
the first import, then a re-run with nothing new, each as an operator runs it (the CLI in its own process) against
a fresh embedded PostgreSQL holding both the source and turnflow's database. Goals on the 2-core box: ≤ 30 s and
≤ 5 s with 0 rows written, the latter checked by row versions, not by the tool's own report."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.stack import describe_machine, progress, run_benchmark
from models.database import asyncpg_dsn
from tests.importing.source_db import create_source_database, generate_rooms
from turnflow.migrate import upgrade_async
from turnflow.postgres import socket_url, start_postgres

IMPORTED_TABLES = ("accounts", "sessions", "chats", "chat_messages")


@dataclass(frozen=True)
class Run:
    wall_s: float
    code: int
    summary: str
    report: dict[str, object]


async def _import(target_url: str, source_url: str, report: Path) -> Run:
    env = {**os.environ, "TURNFLOW_DATABASE_URL": target_url}
    argv = [sys.executable, "-m", "turnflow.cli", "import", "rooms", "--source", source_url, "--report", str(report)]
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    wall = time.monotonic() - started
    assert proc.returncode is not None
    return Run(wall, proc.returncode, out.decode().strip(), json.loads(await asyncio.to_thread(report.read_text)))


async def _rows_newer_than(conn: asyncpg.Connection, xid: int) -> int:
    """Rows whose current version was written by a transaction after `xid` (a fresh cluster: no wraparound)."""
    total = 0
    for table in IMPORTED_TABLES:
        total += await conn.fetchval(f"SELECT count(*) FROM {table} WHERE xmin::text::bigint > $1", xid)
    return int(total)


async def measure(rooms: int, memories: int, deleted: int) -> None:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="turnflow-bench-import-") as work:
        progress("starting PostgreSQL...")
        postgres = await asyncio.to_thread(start_postgres, Path(work) / "postgres")
        try:
            await postgres.ensure_database()
            target_url = postgres.database_url
            await upgrade_async(target_url)
            source_url = await create_source_database(socket_url(postgres.socket_dir, "postgres"))
            progress(f"generating {rooms} rooms with {memories} memories ({deleted} rooms of deleted accounts)...")
            source = await asyncpg.connect(asyncpg_dsn(source_url))
            try:
                await generate_rooms(rooms, memories, deleted_accounts=deleted).insert(source)
                await source.execute("ANALYZE")
            finally:
                await source.close()

            progress("first import...")
            first = await _import(target_url, source_url, Path(work) / "first.json")
            target = await asyncpg.connect(asyncpg_dsn(target_url))
            try:
                await target.execute("ANALYZE")
                before = int(await target.fetchval("SELECT txid_current()"))
                progress("re-run with nothing new...")
                second = await _import(target_url, source_url, Path(work) / "second.json")
                rewritten = await _rows_newer_than(target, before)
            finally:
                await target.close()
        finally:
            postgres.stop()

    print(describe_machine(load_before))
    print(f"source: {rooms} rooms, {memories} memories, {deleted} rooms of deleted accounts")
    for name, run, goal in (("first import", first, 30.0), ("no-change re-run", second, 5.0)):
        print(f"{name}: {run.wall_s:.1f} s wall (goal ≤ {goal:.0f} s), exit {run.code}")
        print(f"  {run.summary}")
    print(f"re-run: rows with a new row version (xmin) in {', '.join(IMPORTED_TABLES)}: {rewritten}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rooms", type=int, default=23_252)
    parser.add_argument("--memories", type=int, default=46_212)
    parser.add_argument("--deleted", type=int, default=347, help="rooms of deleted accounts")
    args = parser.parse_args()
    run_benchmark(lambda: measure(args.rooms, args.memories, args.deleted))


if __name__ == "__main__":
    main()
