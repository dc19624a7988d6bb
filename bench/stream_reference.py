"""Runs the workflow_streams reference: an activity publishes paced deltas, an external subscriber receives them."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.worker import Worker

from bench.stream_workflow import (
    ALL_RECEIVED_SIGNAL,
    DELTAS_TOPIC,
    PUBLISH_DELTAS,
    Delta,
    DeltaStreamInput,
    DeltaStreamWorkflow,
)


@dataclass(frozen=True)
class StreamVariant:
    label: str
    poll_cooldown: timedelta
    note: str


@dataclass
class StreamRun:
    """One reference run: per-delta emit→receive latencies (s) and the workflow's history length."""

    delivery_s: list[float] = field(default_factory=list)
    history_events: int = 0


class DeltaPublisher:
    """The activity lives in this process, so its emit times share the subscriber's monotonic clock."""

    def __init__(self) -> None:
        self.emitted: dict[str, list[float]] = {}

    @activity.defn(name=PUBLISH_DELTAS)
    async def publish_deltas(self, params: DeltaStreamInput) -> None:
        times = self.emitted[activity.info().workflow_id or ""] = []
        stream = WorkflowStreamClient.from_within_activity()
        deltas = stream.topic(DELTAS_TOPIC, type=Delta)
        async with stream:
            for index in range(params.deltas):
                if index:
                    await asyncio.sleep(params.delay_ms / 1000)  # the stand-in model's pacing
                times.append(time.monotonic())
                # force_flush: a signal per delta as soon as the previous one is acknowledged, the library's
                # lowest-latency publishing (its default waits up to batch_interval, 2 s).
                deltas.publish(Delta(index, f"w{index} "), force_flush=True)
            # Exiting straight after a force_flush can hang forever on Python 3.11: the exit cancels the flusher as
            # it wakes, and 3.11's asyncio.wait_for drops such a cancel (CPython gh-86296). Flushing first avoids it.
            await stream.flush()


async def run_reference(
    client: Client, variant: StreamVariant, runs: int, deltas: int, delay_ms: float, warmup: int
) -> list[StreamRun]:
    """`warmup` uncounted runs, then `runs` measured ones, on a worker in this process with its own task queue."""
    publisher = DeltaPublisher()
    task_queue = f"bench-streams-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=task_queue, workflows=[DeltaStreamWorkflow], activities=[publisher.publish_deltas]
    ):
        for _ in range(warmup):
            await _run_once(client, publisher, task_queue, variant, deltas, delay_ms)
        return [await _run_once(client, publisher, task_queue, variant, deltas, delay_ms) for _ in range(runs)]


async def _run_once(
    client: Client, publisher: DeltaPublisher, task_queue: str, variant: StreamVariant, deltas: int, delay_ms: float
) -> StreamRun:
    workflow_id = f"bench-stream-{uuid.uuid4().hex[:12]}"
    received: dict[int, float] = {}
    async with asyncio.timeout(30 + deltas * delay_ms / 1000):  # a hung run fails clearly instead of forever
        handle = await client.start_workflow(
            DeltaStreamWorkflow.run, DeltaStreamInput(deltas, delay_ms), id=workflow_id, task_queue=task_queue
        )
        topic = WorkflowStreamClient.create(client, workflow_id).topic(DELTAS_TOPIC, type=Delta)
        async for item in topic.subscribe(poll_cooldown=variant.poll_cooldown):
            received[item.data.index] = time.monotonic()
            if len(received) == deltas:
                break  # between polls: no update is left in flight
        await handle.signal(ALL_RECEIVED_SIGNAL)
        await handle.result()
    emitted = publisher.emitted[workflow_id]
    history = await handle.fetch_history()
    return StreamRun(
        delivery_s=[received[i] - emitted[i] for i in range(deltas)],
        history_events=len(history.events),
    )
