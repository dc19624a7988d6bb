"""One import run: read the source in batches, resolve accounts, write each batch in its own transaction,
reconcile it against the source, and account for every row that was not imported."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import asyncpg

from models.database import asyncpg_dsn
from turnflow.errors import CommandError
from turnflow.importing.accounts import AccountResolver, Refusal, load_account_map
from turnflow.importing.assistant_chats import AssistantChatsSource
from turnflow.importing.chat_sessions import ChatSessionsSource
from turnflow.importing.jsonl_file import JsonlSource
from turnflow.importing.reconciliation import compare, reconcile
from turnflow.importing.records import Skip, SourceAccount, SourceBatch
from turnflow.importing.report import ImportReport
from turnflow.importing.rooms import RoomsSource
from turnflow.importing.writer import BatchConflict, TargetChat, write_batch
from turnflow.schema import display_url

if TYPE_CHECKING:
    from turnflow.importing.progress import ImportProgress

DATABASE_SHAPES: dict[str, type[RoomsSource | AssistantChatsSource | ChatSessionsSource]] = {
    "rooms": RoomsSource,
    "assistant-chats": AssistantChatsSource,
    "chat-sessions": ChatSessionsSource,
}
SHAPES = (*DATABASE_SHAPES, "jsonl")
DEFAULT_BATCH_CHATS = 1000
# Every statement on turnflow's side joins one batch to a table many times its size by key. Left to itself the
# planner hashes the whole table for each batch, which makes an import quadratic; index lookups keep it linear.
_KEYED_LOOKUPS = {"enable_hashjoin": "off", "enable_mergejoin": "off", "enable_seqscan": "off"}
# Batches are small: starting parallel workers for one costs more than the query (tens of ms on a busy box).
_SMALL_QUERIES = {"max_parallel_workers_per_gather": "0"}


class ChatSource(Protocol):
    name: str
    chat_table: str

    async def accounts(self) -> dict[str, SourceAccount] | None: ...
    async def count(self) -> int: ...
    def batches(self) -> AsyncIterator[SourceBatch]: ...


@dataclass(frozen=True)
class ImportOptions:
    shape: str
    target_url: str
    source_url: str | None = None
    file: Path | None = None
    dry_run: bool = False
    account_map: Path | None = None
    since: datetime | None = None
    batch_chats: int = DEFAULT_BATCH_CHATS


async def run_import(options: ImportOptions, progress: ImportProgress) -> ImportReport:
    """Imports and returns the report; the source is read in one snapshot, so a run sees one consistent state."""
    mapping = load_account_map(options.account_map) if options.account_map else {}
    started = time.monotonic()
    target = await _connect(options.target_url, "the turnflow database", _KEYED_LOOKUPS | _SMALL_QUERIES)
    try:
        await _check_schema(target)
        source_conn = await _connect(options.source_url, "the source", _SMALL_QUERIES) if options.source_url else None
        try:
            if source_conn is not None:
                await source_conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            source = _source(options, source_conn)
            report = ImportReport(
                shape=options.shape,
                source=display_url(options.source_url) if options.source_url else str(options.file),
                dry_run=options.dry_run,
                started_at=datetime.now(UTC),
            )
            resolver = AccountResolver(target, await source.accounts(), mapping, dry_run=options.dry_run)
            await resolver.check_map()
            progress.start(await source.count())
            try:
                await _pump(source, target, resolver, report, progress, dry_run=options.dry_run)
            finally:
                progress.stop()
            report.written["accounts"] += resolver.written
        finally:
            if source_conn is not None:
                await source_conn.close()
    finally:
        await target.close()
    report.elapsed_s = time.monotonic() - started
    return report


async def _connect(url: str, what: str, settings: dict[str, str] | None = None) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(asyncpg_dsn(url), server_settings=settings)
    except (OSError, asyncpg.PostgresError, ValueError) as exc:
        raise CommandError(f"cannot connect to {what} {display_url(url)}: {exc}") from None


async def _check_schema(target: asyncpg.Connection) -> None:
    present = await target.fetchval(
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_name = 'chats' AND column_name = 'history_read_seq'"
    )
    if not present:
        raise CommandError("the turnflow database is not at the latest schema: run `turnflow migrate` first")


def _source(options: ImportOptions, conn: asyncpg.Connection | None) -> ChatSource:
    if options.shape == "jsonl":
        assert options.file is not None
        return JsonlSource(options.file, options.batch_chats)
    assert conn is not None
    return DATABASE_SHAPES[options.shape](conn, options.since, options.batch_chats)


async def _pump(
    source: ChatSource,
    target: asyncpg.Connection,
    resolver: AccountResolver,
    report: ImportReport,
    progress: ImportProgress,
    *,
    dry_run: bool,
) -> None:
    """Reads the next batch while the current one is written: source and turnflow are different connections."""
    queue: asyncio.Queue[SourceBatch | None] = asyncio.Queue(maxsize=2)

    async def read() -> None:
        async for batch in source.batches():
            await queue.put(batch)
        await queue.put(None)

    async with asyncio.TaskGroup() as tasks:
        reader = tasks.create_task(read())
        try:
            while (batch := await queue.get()) is not None:
                await _import_batch(source, target, resolver, report, batch, dry_run=dry_run)
                progress.advance(batch.chats_read, sum(len(c.messages) for c in batch.chats))
        except BaseException:
            reader.cancel()
            raise


async def _import_batch(
    source: ChatSource,
    target: asyncpg.Connection,
    resolver: AccountResolver,
    report: ImportReport,
    batch: SourceBatch,
    *,
    dry_run: bool,
) -> None:
    report.skipped += batch.skipped
    report.adjusted += batch.adjusted
    report.chats_read += batch.chats_read
    resolver.learn(batch.accounts)
    accounts = await resolver.resolve({c.source_account_id for c in batch.chats})
    chats: list[TargetChat] = []
    for chat in batch.chats:
        account = accounts[chat.source_account_id]
        if isinstance(account, Refusal):
            count = f"{account.detail} ({chat.source_message_count} messages)"
            report.skipped.append(Skip(account.reason, source.chat_table, chat.id, count, chat.id, whole_chat=True))
        else:
            chats.append(TargetChat(chat, account))
    try:
        outcome = await write_batch(target, chats, dry_run=dry_run)
    except BatchConflict as exc:
        detail = f"changed while importing ({exc}); the next run imports it"
        report.skipped += [Skip("chat-busy", source.chat_table, c.source.id, detail, c.source.id, True) for c in chats]
        return
    report.written.update(outcome.written)
    report.skipped += outcome.taken
    busy = set(outcome.busy)
    report.skipped += [
        Skip("chat-busy", source.chat_table, chat_id, "a turn is running; the next run imports it", chat_id, True)
        for chat_id in outcome.busy
    ]
    left_out = busy | {s.source_id for s in outcome.taken}
    imported = [c.source for c in chats if c.source.id not in left_out]
    for chat in imported:
        report.skipped += chat.skipped
    if outcome.imported is not None:
        mismatches = compare(imported, outcome.imported)
    else:
        mismatches = await reconcile(target, imported)
    report.mismatches += mismatches
    report.chats_matched += len(imported) - len(mismatches)
