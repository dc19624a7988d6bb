"""The reference design: deltas published from an activity through `temporalio.contrib.workflow_streams`.

Kept apart from the harness because the workflow sandbox re-imports this module: it must stay deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream

DELTA_STREAM_WORKFLOW = "BenchDeltaStream"
PUBLISH_DELTAS = "bench_publish_deltas"
ALL_RECEIVED_SIGNAL = "all_received"
DELTAS_TOPIC = "deltas"


@dataclass
class DeltaStreamInput:
    deltas: int
    delay_ms: float


@dataclass
class Delta:
    index: int
    text: str


@workflow.defn(name=DELTA_STREAM_WORKFLOW)
class DeltaStreamWorkflow:
    @workflow.init
    def __init__(self, params: DeltaStreamInput) -> None:
        self.stream = WorkflowStream()
        self._all_received = False

    @workflow.signal(name=ALL_RECEIVED_SIGNAL)
    def all_received(self) -> None:
        self._all_received = True

    @workflow.run
    async def run(self, params: DeltaStreamInput) -> None:
        await workflow.execute_activity(
            PUBLISH_DELTAS, params, start_to_close_timeout=timedelta(seconds=60), summary="publish the deltas"
        )
        # Completing now would move the last deltas to the closed-stream query path; waiting for the subscriber
        # keeps every delivery on the live long-poll path, which is what is being measured.
        await workflow.wait_condition(lambda: self._all_received)
        await workflow.wait_condition(workflow.all_handlers_finished)
