"""One process stack for the crash tests: two workers and two API processes over real PostgreSQL and Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.crash.process_stack import ProcessStack
from tests.otlp import OtlpReceiver
from tests.standin.anthropic_server import StandIn
from turnflow.object_store import ObjectStore


@pytest.fixture(scope="session")
async def crash_stack(
    standin: StandIn, otlp: OtlpReceiver, object_store: ObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProcessStack]:
    """Its workers keep snapshots in SeaweedFS."""
    stack = ProcessStack.with_object_store(tmp_path_factory.mktemp("crash"), standin, otlp.url, object_store)
    try:
        await stack.start()
        for _ in range(2):
            await stack.start_worker()
        for _ in range(2):
            await stack.start_api()
        yield stack
    finally:
        await stack.close()


@pytest.fixture
async def crash_http(crash_stack: ProcessStack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the first API process."""
    url = next(iter(crash_stack.apis))
    headers = {"Authorization": f"Bearer {crash_stack.api_key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        yield http
