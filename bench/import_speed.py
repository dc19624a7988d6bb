"""`turnflow import rooms` at the seed's scale (23,252 rooms, 46,212 memories, 347 rooms of deleted accounts):
the first import, then a re-run with nothing new, each as an operator runs it (the CLI in its own process) against
a fresh embedded PostgreSQL holding both the source and turnflow's database. Goals on the 2-core box: ≤ 30 s and
≤ 5 s with 0 rows written, the latter checked by row versions, not by the tool's own report."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
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
    # CPU seconds of the importer process and of PostgreSQL: on a box shared with other work, the wall time says
    # more about the neighbours than about the import; the CPU it took does not depend on them.
    importer_cpu_s: float
    postgres_cpu_s: float
    code: int
    summary: str


def _postgres_cpu_s(postmaster_pid: int) -> float:
    """CPU of the postmaster and every backend it has reaped (each connection's backend exits when it closes)."""
    fields = Path(f"/proc/{postmaster_pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


async def _import(target_url: str, source_url: str, report: Path, postmaster_pid: int) -> Run:
    env = {**os.environ, "TURNFLOW_DATABASE_URL": target_url}
    argv = [sys.executable, "-m", "turnflow.cli", "import", "rooms", "--source", source_url, "--report", str(report)]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    postgres_before = _postgres_cpu_s(postmaster_pid)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    wall = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    importer = children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
    assert proc.returncode is not None
    return Run(wall, importer, _postgres_cpu_s(postmaster_pid) - postgres_before, proc.returncode, out.decode().strip())


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

            postmaster = int((Path(work) / "postgres" / "postmaster.pid").read_text().split()[0])
            progress("first import...")
            first = await _import(target_url, source_url, Path(work) / "first.json", postmaster)
            target = await asyncpg.connect(asyncpg_dsn(target_url))
            try:
                await target.execute("ANALYZE")
                before = int(await target.fetchval("SELECT txid_current()"))
                progress("re-run with nothing new...")
                second = await _import(target_url, source_url, Path(work) / "second.json", postmaster)
                rewritten = await _rows_newer_than(target, before)
            finally:
                await target.close()
        finally:
            postgres.stop()

    print(describe_machine(load_before))
    print(f"source: {rooms} rooms, {memories} memories, {deleted} rooms of deleted accounts")
    for name, run, goal in (("first import", first, 30.0), ("no-change re-run", second, 5.0)):
        print(
            f"{name}: {run.wall_s:.1f} s wall (goal ≤ {goal:.0f} s), exit {run.code}; CPU: importer "
            f"{run.importer_cpu_s:.1f} s, PostgreSQL {run.postgres_cpu_s:.1f} s"
        )
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
