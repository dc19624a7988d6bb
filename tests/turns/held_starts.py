"""A send's start of its workflow, held back or made to fail the way a slow or unreachable Temporal would."""

from __future__ import annotations

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

import api.chat_workflow
from models.turns import TurnInput
from turnlog.launch import start_turn_workflow

Start = tuple[Client, TurnInput, str, str]


def _deadline_exceeded() -> RPCError:
    return RPCError("Deadline Exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")


class Starts:
    """Stands in for the send's start of a workflow: records it, and either starts it or not, then answers as
    told; recorded starts can be made later, as a server that accepted a start late would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, start: bool, fail: bool) -> None:
        self.held: list[Start] = []
        self._start, self._fail = start, fail
        monkeypatch.setattr(api.chat_workflow, "start_turn_workflow", self)

    async def __call__(self, temporal: Client, turn: TurnInput, workflow_id: str, task_queue: str) -> None:
        if self._start:
            await start_turn_workflow(temporal, turn, workflow_id, task_queue)
        else:
            self.held.append((temporal, turn, workflow_id, task_queue))
        if self._fail:
            raise _deadline_exceeded()

    async def release(self) -> str:
        """Starts the held workflow; returns its id."""
        temporal, turn, workflow_id, task_queue = self.held.pop()
        await start_turn_workflow(temporal, turn, workflow_id, task_queue)
        return workflow_id
