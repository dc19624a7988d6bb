"""Two workers with workspace roots of their own stand for two hosts, sharing SeaweedFS for snapshots: a session's
sandbox lives on one of them and its tool calls run only there; when that host dies (its disk gone with it) or
leaves, the session's next turn finds its files on the other."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from activities.sandbox.workspace_volumes import unmount_all_under
from models.names import (
    HIBERNATE_SANDBOX,
    PROVISION_SANDBOX,
    RUN_TOOL_CALL,
    SYNC_WORKSPACE,
    TEARDOWN_SANDBOX,
    host_task_queue,
)
from tests.crash.process_stack import ProcessStack
from tests.crash.sandbox_turns import tool_output, tool_outputs
from tests.otlp import OtlpReceiver
from tests.polling import wait_until
from tests.replay import assert_replays
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import new_chat_id, tool
from turnflow.children import Child
from turnflow.object_store import ObjectStore
from workflows.chat_turn import ChatTurnWorkflow
from workflows.sandbox_lifecycle import SandboxLifecycleWorkflow

pytestmark = pytest.mark.slow
SANDBOX_ACTIVITIES = {RUN_TOOL_CALL, PROVISION_SANDBOX, HIBERNATE_SANDBOX, TEARDOWN_SANDBOX, SYNC_WORKSPACE}


@dataclass
class Host:
    worker: Child
    root: Path

    @property
    def identity_prefix(self) -> str:
        """How Temporal names the worker process in the histories: `<pid>@<host name>`."""
        return f"{self.worker.process.pid}@"


@dataclass
class Hosts:
    stack: ProcessStack
    http: httpx.AsyncClient
    hosts: list[Host]

    async def start_host(self) -> Host:
        root = self.stack.root / f"host-{uuid.uuid4().hex[:6]}"
        # Sandboxes stay up between turns here: a hibernated one has no holder, and these tests follow holders.
        worker = await self.stack.start_worker(
            {"TURNFLOW_WORKSPACE_ROOT": str(root), "TURNFLOW_SANDBOX_IDLE_HIBERNATE_S": "600"}
        )
        host = Host(worker, root)
        self.hosts.append(host)
        return host

    def holding(self, session_id: str) -> Host:
        """The host whose workspace root has the session's files."""
        holders = [host for host in self.hosts if (host.root / session_id).exists()]
        assert len(holders) == 1, f"session {session_id} is on {len(holders)} hosts"
        return holders[0]

    async def holder_row(self, session_id: str) -> tuple[str | None, str | None]:
        """The session's sandbox state and the id of the worker holding it, as the database has them."""
        assert self.stack.engine is not None
        async with self.stack.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT sandbox_state, sandbox_worker_id FROM sessions WHERE id = :id"), {"id": session_id}
                )
            ).one()
        return row.sandbox_state, None if row.sandbox_worker_id is None else str(row.sandbox_worker_id)

    async def session_of(self, chat_id: str) -> str:
        session_id: str = (await self.http.get(f"/chats/{chat_id}")).json()["sessionId"]
        return session_id

    async def write_a_file(self, path: str, content: str) -> tuple[str, str, Host]:
        """A new chat whose turn writes a file: its chat id, session id, and the host that holds it."""
        chat_id = new_chat_id()
        written = await tool_output(self.http, chat_id, tool("write_file", path=path, content=content))
        assert written["type"] == "tool-output-available", written
        session_id = await self.session_of(chat_id)
        return chat_id, session_id, self.holding(session_id)

    def forget(self, host: Host) -> None:
        self.hosts.remove(host)
        self.stack.workers.remove(host.worker)


@pytest.fixture(scope="module")
async def two_hosts(
    standin: StandIn, otlp: OtlpReceiver, object_store: ObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Hosts]:
    stack = ProcessStack.with_object_store(tmp_path_factory.mktemp("hosts"), standin, otlp.url, object_store)
    try:
        await stack.start()
        url = await stack.start_api()
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {stack.api_key}"}, timeout=60
        ) as http:
            hosts = Hosts(stack, http, [])
            for _ in range(2):
                await hosts.start_host()
            yield hosts
    finally:
        await stack.close()
        unmount_all_under(stack.root)


async def _completed_sandbox_activities(stack: ProcessStack, workflow_id: str) -> list[tuple[str, str, str]]:
    """Every sandbox activity the workflow ran to completion: (activity, task queue, identity of the worker that
    completed it). An attempt refused by a worker not holding the sandbox fails and is sent again; it is not here."""
    assert stack.client is not None
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    scheduled: dict[int, tuple[str, str]] = {}
    runs = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            attributes = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (attributes.activity_type.name, attributes.task_queue.name)
        elif event.HasField("activity_task_completed_event_attributes"):
            completed = event.activity_task_completed_event_attributes
            name, queue = scheduled[completed.scheduled_event_id]
            if name in SANDBOX_ACTIVITIES:
                runs.append((name, queue, completed.identity))
    return runs


async def _turn_workflows(stack: ProcessStack, chat_id: str) -> list[str]:
    assert stack.engine is not None
    async with stack.engine.connect() as conn:
        query = text("SELECT workflow_id FROM turns WHERE chat_id = :chat ORDER BY number")
        return list((await conn.execute(query, {"chat": chat_id})).scalars())


async def test_a_sessions_tool_calls_run_only_on_the_worker_holding_its_sandbox(two_hosts: Hosts) -> None:
    chat_id = new_chat_id()
    for turn in range(3):
        prompt = tool("write_file", path=f"turn{turn}.txt", content=str(turn)) + tool("bash", command="ls | wc -l")
        outputs = await tool_outputs(two_hosts.http, chat_id, prompt)
        assert [o["type"] for o in outputs] == ["tool-output-available"] * 2, outputs
    session_id = await two_hosts.session_of(chat_id)
    holder = two_hosts.holding(session_id)
    state, worker_id = await two_hosts.holder_row(session_id)
    assert state == "ready" and worker_id is not None

    first, *later = await _turn_workflows(two_hosts.stack, chat_id)
    runs = {
        workflow_id: await _completed_sandbox_activities(two_hosts.stack, workflow_id)
        for workflow_id in [first, *later, f"sandbox:{session_id}"]
    }
    everything = [run for workflow_runs in runs.values() for run in workflow_runs]
    assert sum(1 for name, _, _ in everything if name == RUN_TOOL_CALL) == 6
    assert all(identity.startswith(holder.identity_prefix) for _, _, identity in everything), (
        f"every sandbox activity ran on the holder ({holder.identity_prefix}…): {everything}"
    )
    own_queue = host_task_queue(two_hosts.stack.task_queue, worker_id)
    for workflow_id in later:
        assert {queue for _, queue, _ in runs[workflow_id]} == {own_queue}, "once held: the holder's own queue"


async def test_files_move_to_another_host_when_theirs_is_killed_and_its_disk_lost(two_hosts: Hosts) -> None:
    chat_id, session_id, lost = await two_hosts.write_a_file("notes/plan.md", "keep me")
    _, lost_worker = await two_hosts.holder_row(session_id)

    await two_hosts.stack.kill(lost.worker)
    two_hosts.forget(lost)
    await asyncio.to_thread(unmount_all_under, lost.root)
    await asyncio.to_thread(shutil.rmtree, lost.root)

    read = await tool_output(two_hosts.http, chat_id, tool("bash", command="cat notes/plan.md"))
    assert read["type"] == "tool-output-available", read
    assert read["output"]["output"] == "keep me"
    survivor = two_hosts.holding(session_id)
    assert survivor is not lost
    state, worker_id = await two_hosts.holder_row(session_id)
    assert state == "ready" and worker_id not in (None, lost_worker)
    assert two_hosts.stack.client is not None
    workflows = [*await _turn_workflows(two_hosts.stack, chat_id), f"sandbox:{session_id}"]
    await assert_replays(two_hosts.stack.client, workflows, [ChatTurnWorkflow, SandboxLifecycleWorkflow])
    await two_hosts.start_host()  # two hosts again for the tests after this one


async def test_a_worker_that_leaves_cleanly_packs_its_sandboxes_for_the_next_host(two_hosts: Hosts) -> None:
    chat_id, session_id, leaving = await two_hosts.write_a_file("result.txt", "42")
    # Changed after the turn's own sync: only the leave's snapshot can carry this to the next host.
    (leaving.root / session_id / "late.txt").write_text("written after the turn")

    await leaving.worker.stop(30)
    assert leaving.worker.process.returncode == 0, "a clean exit"
    two_hosts.forget(leaving)
    assert not (leaving.root / session_id).exists(), "the workspace left the host with its worker"
    assert await two_hosts.holder_row(session_id) == ("hibernated", None)

    read = await tool_output(two_hosts.http, chat_id, tool("bash", command="cat result.txt late.txt"))
    assert read["output"]["output"] == "42written after the turn"
    assert two_hosts.holding(session_id) is not leaving

    async def held_again() -> bool:
        state, worker_id = await two_hosts.holder_row(session_id)
        return state == "ready" and worker_id is not None

    await wait_until(held_again, "the next host to hold the sandbox")
    await two_hosts.start_host()
