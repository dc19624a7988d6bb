"""The process's Temporal runtime: the SDK core's own log lines go through Python logging (plain or JSON like every
other line), and a worker's metrics port serves the SDK's runtime metrics with turnflow's (activity durations and
outcomes, model tokens and cost, tool calls, sandboxes by state) at `/metrics`, in Prometheus text format."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.common import MetricMeter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from activities.telemetry import HISTOGRAM_BUCKETS
from models.enums import SandboxState
from models.settings import Settings
from turnflow.errors import CommandError

_log = logging.getLogger("turnflow.temporal_runtime")
SANDBOX_STATES_EVERY_S = 15.0
_SANDBOX_STATES = text(
    "SELECT sandbox_state AS state, count(*) AS n FROM sessions WHERE sandbox_state IS NOT NULL GROUP BY 1"
)


def install_temporal_runtime(settings: Settings, *, serve_metrics: bool) -> None:
    """Makes the runtime every Temporal client of this process uses; a worker (`serve_metrics`) with a metrics port
    serves its metrics there. Call before the first client connects."""
    metrics = None
    address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"
    if serve_metrics and settings.worker_metrics_port is not None:
        metrics = PrometheusConfig(
            bind_address=address,
            counters_total_suffix=True,
            durations_as_seconds=True,
            histogram_bucket_overrides=HISTOGRAM_BUCKETS,
        )
    core_logs = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    try:
        runtime = Runtime(telemetry=TelemetryConfig(logging=core_logs, metrics=metrics))
    except RuntimeError as exc:
        raise CommandError(
            f"cannot serve worker metrics on {address} ({exc}); choose another TURNFLOW_WORKER_METRICS_PORT"
        ) from None
    Runtime.set_default(runtime)
    if metrics is not None:
        _log.info("worker metrics on http://%s/metrics", address)


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
