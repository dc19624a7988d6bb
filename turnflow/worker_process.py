"""The worker process as `turnflow worker` runs it."""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.client import Client
from temporalio.runtime import Runtime

from activities.sandbox.providers import SandboxUnavailable, choose_provider
from activities.stop_listener import StopListener
from activities.worker_presence import WorkerPresence
from models.database import asyncpg_dsn, create_engine
from models.settings import Settings
from turnflow.errors import CommandError
from turnflow.schedules import ensure_digest_schedule, ensure_prune_schedule, ensure_reconcile_schedule
from turnflow.schema import display_url
from turnflow.temporal_runtime import report_sandbox_states
from worker import build_worker

_log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    """Polls its task queues until SIGINT or SIGTERM, then leaves cleanly (see worker.Workers)."""
    try:
        sandboxes = choose_provider(settings)  # before anything else: without a sandbox there is nothing to serve
    except SandboxUnavailable as exc:
        raise CommandError(str(exc)) from None
    address = settings.resolved_temporal_address()
    try:
        client = await Client.connect(address, namespace=settings.temporal_namespace)
    except RuntimeError as exc:
        raise CommandError(f"cannot reach Temporal at {address} ({exc}); is the server up?") from None
    database_url = settings.resolved_database_url()
    # One connection per activity slot of the shared queue's worker, as many again (the overflow) for its own
    # queue's and for peaks (a sub-agent step writes two logs at once).
    engine = create_engine(database_url, pool_size=settings.worker_activity_slots)
    stops = StopListener(asyncpg_dsn(database_url))
    presence = WorkerPresence(asyncpg_dsn(database_url), client, settings.task_queue)
    try:
        try:
            await stops.start()
            await presence.start()
        except OSError as exc:
            raise CommandError(f"cannot reach the database at {display_url(database_url)} ({exc})") from None
        await ensure_prune_schedule(
            client, task_queue=settings.task_queue, retention_hours=settings.turn_event_retention_hours
        )
        await ensure_reconcile_schedule(
            client, task_queue=settings.task_queue, interval_s=settings.reconcile_interval_s
        )
        if settings.digest_webhook_url:
            await ensure_digest_schedule(
                client, task_queue=settings.task_queue, interval_minutes=settings.digest_interval_minutes
            )
        worker = build_worker(client, settings, engine, stops, presence, sandboxes)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        running = asyncio.create_task(worker.run())
        stopping = asyncio.create_task(stop.wait())
        reporting = asyncio.create_task(report_sandbox_states(engine, Runtime.default().metric_meter))
        _log.info(
            "worker polling task queues %r and %r (its sandboxes') on %s",
            settings.task_queue,
            worker.host.task_queue,
            address,
        )
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        reporting.cancel()
        if not running.done():
            await worker.shutdown()
        await running  # re-raises a worker that failed on its own
    finally:
        await presence.stop()
        await stops.stop()
        await engine.dispose()
