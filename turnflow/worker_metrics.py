"""The worker's metrics port: the Temporal SDK serves its own runtime metrics and turnflow's (activity durations
and outcomes, model tokens and cost, tool calls, sandboxes by state) at `/metrics`, in Prometheus text format."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from activities.telemetry import HISTOGRAM_BUCKETS
from models.enums import SandboxState
from models.settings import Settings
from turnflow.errors import CommandError

_log = logging.getLogger("turnflow.worker_metrics")
SANDBOX_STATES_EVERY_S = 15.0
_SANDBOX_STATES = text(
    "SELECT sandbox_state AS state, count(*) AS n FROM sessions WHERE sandbox_state IS NOT NULL GROUP BY 1"
)


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving Prometheus metrics on the worker's metrics port; None when no port is set."""
    if settings.worker_metrics_port is None:
        return None
    address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"
    config = PrometheusConfig(
        bind_address=address,
        counters_total_suffix=True,
        durations_as_seconds=True,
        histogram_bucket_overrides=HISTOGRAM_BUCKETS,
    )
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=config))
    except RuntimeError as exc:
        raise CommandError(
            f"cannot serve worker metrics on {address} ({exc}); choose another TURNFLOW_WORKER_METRICS_PORT"
        ) from None
    _log.info("worker metrics on http://%s/metrics", address)
    return runtime


async def report_sandbox_states(engine: AsyncEngine, meter: MetricMeter) -> None:
    """Sandboxes by state, across the deployment (every worker reports the same count: read it with max, not sum)."""
    gauge = meter.create_gauge("turnflow_sandboxes", "Sessions' sandboxes by state, across all workers")
    while True:
        try:
            async with engine.connect() as conn:
                counts = {row.state: int(row.n) for row in await conn.execute(_SANDBOX_STATES)}
        except (OSError, SQLAlchemyError) as exc:
            _log.warning("sandbox states not read (next try in %g s): %s", SANDBOX_STATES_EVERY_S, exc)
        else:
            for state in SandboxState:
                gauge.set(counts.get(state.value, 0), {"state": state.value})
        await asyncio.sleep(SANDBOX_STATES_EVERY_S)
