"""Replays recorded histories against today's workflow code, so a change that breaks running turns fails."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client
from temporalio.worker import Replayer


async def assert_replays(client: Client, workflow_ids: Sequence[str], workflows: Sequence[type]) -> None:
    histories = [await client.get_workflow_handle(wid).fetch_history() for wid in workflow_ids]
    replayer = Replayer(workflows=list(workflows))
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{history.workflow_id}: {result.replay_failure}"
