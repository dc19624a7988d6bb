"""The API's Temporal client, connected on first use so the API starts, and answers what needs no workflow,
even while Temporal is still booting or down."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import Depends, Request
from temporalio.client import Client

from api.problems import ProblemError
from api.tracing import temporal_interceptors
from models.settings import Settings

_log = logging.getLogger("turnflow.api.temporal")


class TemporalConnection:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The shared client; a 503 problem while Temporal cannot be reached."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await Client.connect(
                            self._settings.resolved_temporal_address(),
                            namespace=self._settings.temporal_namespace,
                            interceptors=temporal_interceptors(),
                        )
                    except RuntimeError as exc:
                        _log.warning("cannot reach Temporal: %s", exc)
                        raise ProblemError(
                            503, "temporal-unavailable", "the workflow service is unreachable; retry shortly"
                        ) from exc
        return self._client


def get_temporal(request: Request) -> TemporalConnection:
    connection: TemporalConnection = request.app.state.temporal
    return connection


Temporal = Annotated[TemporalConnection, Depends(get_temporal)]
