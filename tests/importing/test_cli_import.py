"""`turnflow import` as an operator runs it: its own process, one summary line, a report file, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from tests.importing.source_db import SourceRows
from turnflow.importing.report import EXIT_MISMATCH


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


async def _turnflow(database_url: str, *args: str, tty: bool = False) -> Run:
    env = {**os.environ, "TURNFLOW_DATABASE_URL": database_url, "COLUMNS": "160"}
    argv = [sys.executable, "-m", "turnflow.cli", *args]
    if not tty:
        proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=-1, stderr=-1)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode is not None
        return Run(proc.returncode, out.decode(), err.decode())
    primary, secondary = pty.openpty()
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=secondary, stderr=-1)
    os.close(secondary)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.returncode is not None
    return Run(proc.returncode, b"".join(chunks).decode(errors="replace"), err.decode())


async def test_one_summary_line_and_a_report_listing_skipped_rows(
    source: asyncpg.Connection, source_url: str, database_url: str, tmp_path: Path
) -> None:
    rows = SourceRows(source)
    kept = await rows.room(await rows.account(), "kept")
    await rows.memory(kept, {"role": "user", "content": "hi"}, 1)
    broken = await rows.memory(kept, '"{oops"', 2, raw=True)
    gone = await rows.room(await rows.account(deleted=True), "gone")
    report_path = tmp_path / "report.json"

    run = await _turnflow(database_url, "import", "rooms", "--source", source_url, "--report", str(report_path))

    assert run.code == 0, run.err
    assert run.out.count("\n") == 1, run.out
    assert run.out.startswith("import rooms: 2 chats read, 1 matched, 0 mismatched, 1 skipped; wrote ")
    assert "skipped rows: account-deleted 1, malformed-content 1" in run.out
    assert run.out.rstrip().endswith(f"report: {report_path}")
    report = json.loads(report_path.read_text())
    assert report["chats"] == {"read": 2, "matched": 1, "mismatched": 0, "skipped": 1}
    assert report["rows_written"]["messages"] == 1
    assert {(s["reason"], s["source"], s["source_id"]) for s in report["skipped"]} == {
        ("account-deleted", "rooms", str(gone)),
        ("malformed-content", "memories", str(broken)),
    }
    assert "password" not in report["source"]


async def test_a_chat_that_differs_from_its_source_fails_the_run(
    source: asyncpg.Connection, source_url: str, database_url: str, tmp_path: Path
) -> None:
    rows = SourceRows(source)
    room = await rows.room(await rows.account(), "shrinking")
    first = await rows.memory(room, {"role": "user", "content": "one"}, 1)
    await rows.memory(room, {"role": "assistant", "content": "two"}, 2)
    report_path = tmp_path / "report.json"
    args = ["import", "rooms", "--source", source_url, "--report", str(report_path)]
    assert (await _turnflow(database_url, *args)).code == 0
    # Deleted at the source: the import never deletes, so turnflow now holds a message the source lacks.
    await source.execute("DELETE FROM memories WHERE room_id = $1 AND id <> $2", room, first)

    run = await _turnflow(database_url, *args)

    assert run.code == EXIT_MISMATCH
    assert "1 mismatched" in run.out
    assert f"chat {room}: source 1 messages ending {first}, turnflow 2 ending" in run.err
    mismatch = json.loads(report_path.read_text())["mismatches"][0]
    assert (mismatch["chat_id"], mismatch["source_messages"], mismatch["turnflow_messages"]) == (str(room), 1, 2)


async def test_a_terminal_gets_a_progress_bar(
    source: asyncpg.Connection, source_url: str, database_url: str, tmp_path: Path
) -> None:
    rows = SourceRows(source)
    await rows.memory(await rows.room(await rows.account(), "t"), {"role": "user", "content": "hi"}, 1)

    run = await _turnflow(
        database_url, "import", "rooms", "--source", source_url, "--report", str(tmp_path / "r.json"), tty=True
    )

    assert run.code == 0, run.err
    assert "importing" in run.out and "chats/s" in run.out
    assert "import rooms: 1 chats read, 1 matched" in run.out


async def test_bad_invocations_are_one_line_errors(database_url: str, source_url: str, tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@/nothing?host={tmp_path / 'no-server'}"
    cases = [
        (["import", "rooms"], "--source"),
        (["import", "jsonl", "--source", source_url], "FILE"),
        (["import", "jsonl", str(tmp_path / "x.jsonl"), "--since", "2026-01-01"], "--since"),
        (["import", "rooms", "--source", nowhere], "no-server"),
        (
            ["import", "assistant-chats", "--source", source_url, "--account-map", str(tmp_path / "none.map")],
            "none.map",
        ),
        (["import", "rooms", "--source", source_url, "--since", "yesterday"], "ISO 8601"),
    ]
    for args, mention in cases:
        run = await _turnflow(database_url, *args)
        assert run.code != 0 and run.out == "", (args, run)
        assert "Traceback" not in run.err and mention in run.err, (args, run.err)


async def test_an_account_map_must_name_existing_accounts(database_url: str, source_url: str, tmp_path: Path) -> None:
    account_map = tmp_path / "a.map"
    account_map.write_text(f"{uuid.uuid4()} {uuid.uuid4()}\n")
    run = await _turnflow(database_url, "import", "rooms", "--source", source_url, "--account-map", str(account_map))
    assert run.code == 1 and "do not exist" in run.err and len(run.err.strip().splitlines()) == 1
