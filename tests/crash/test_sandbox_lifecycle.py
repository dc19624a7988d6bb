"""Per-session sandboxes across turns, idleness, worker restarts and archiving, on real worker processes."""

from __future__ import annotations

import asyncio
import hashlib

import httpx

from activities.sandbox.snapshot_store import S3SnapshotStore
from activities.sandbox.snapshots import manifest_key, read_manifest
from tests.crash.process_stack import ProcessStack
from tests.crash.sandbox_turns import tool_output
from tests.polling import wait_until
from tests.turns.helpers import new_chat_id, send, tool


async def _sandbox_state(http: httpx.AsyncClient, session_id: str) -> str | None:
    state: str | None = (await http.get(f"/sessions/{session_id}")).json()["sandboxState"]
    return state


async def _wait_for_state(http: httpx.AsyncClient, session_id: str, state: str) -> None:
    async def reached() -> bool:
        return await _sandbox_state(http, session_id) == state

    await wait_until(reached, f"sandbox {state}")


def _store(stack: ProcessStack) -> S3SnapshotStore:
    """The workers' snapshot store: SeaweedFS."""
    assert stack.snapshots is not None
    return S3SnapshotStore(stack.snapshots)


def _objects(stack: ProcessStack) -> dict[str, str]:
    """Every object of the workers' store, with its ETag: what changes when anything is put."""
    store = _store(stack)
    listing = store._client.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}/")
    return {item["Key"]: item["ETag"] for item in listing.get("Contents", [])}


def _on_disk(stack: ProcessStack, session_id: str) -> tuple[bool, bool]:
    workspace = stack.root / "data" / "workspaces" / session_id
    return workspace.exists(), _store(stack).has(manifest_key(session_id))


async def _wait_packed_away(stack: ProcessStack, session_id: str) -> None:
    """The state changes when packing starts (so no tool uses the workspace meanwhile), not when it ends."""

    async def packed_away() -> bool:
        return await asyncio.to_thread(_on_disk, stack, session_id) == (False, True)

    await wait_until(packed_away, "the workspace packed into its snapshot and removed")


async def test_files_survive_hibernation_and_a_worker_restart(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient
) -> None:
    chat_id = new_chat_id()
    written = await tool_output(crash_http, chat_id, tool("write_file", path="notes/plan.md", content="keep me"))
    assert written["type"] == "tool-output-available"
    session_id = (await crash_http.get(f"/chats/{chat_id}")).json()["sessionId"]
    await _wait_for_state(crash_http, session_id, "hibernated")
    await _wait_packed_away(crash_stack, session_id)

    for worker in list(crash_stack.workers):
        await crash_stack.kill(worker)
        crash_stack.workers.remove(worker)
    for _ in range(2):
        await crash_stack.start_worker()

    read = await tool_output(crash_http, chat_id, tool("bash", command="cat notes/plan.md; ls -la notes"))
    assert read["output"]["output"].startswith("keep me"), read
    assert await _sandbox_state(crash_http, session_id) in ("ready", "hibernated")


async def test_a_turn_that_changed_files_has_them_in_the_store_when_it_finishes(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient
) -> None:
    """Before the sandbox's idle hibernation: the turn itself put its changes into SeaweedFS; a later turn that
    changed nothing puts nothing."""
    chat_id = new_chat_id()
    written = await tool_output(crash_http, chat_id, tool("write_file", path="out/result.txt", content="42"))
    assert written["type"] == "tool-output-available"
    session_id = (await crash_http.get(f"/chats/{chat_id}")).json()["sessionId"]
    manifest = await asyncio.to_thread(read_manifest, _store(crash_stack), session_id)
    assert await _sandbox_state(crash_http, session_id) == "ready", "read before any hibernation began"
    assert manifest is not None and "out/result.txt" in manifest.files
    assert manifest.files["out/result.txt"].sha256 == hashlib.sha256(b"42").hexdigest()

    before = await asyncio.to_thread(_objects, crash_stack)
    read = await tool_output(crash_http, chat_id, tool("bash", command="cat out/result.txt"))
    assert read["output"]["output"] == "42"
    assert await asyncio.to_thread(_objects, crash_stack) == before, "a turn that changed nothing uploads nothing"


async def test_archiving_stops_the_sandbox_but_never_under_a_running_turn(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient
) -> None:
    chat_id = new_chat_id()
    prompt = tool("bash", command="echo working > state.txt; sleep 2; echo done >> state.txt")
    sending = asyncio.create_task(tool_output(crash_http, chat_id, prompt))

    async def running() -> bool:
        chat = await crash_http.get(f"/chats/{chat_id}")
        return chat.status_code == 200 and chat.json()["activeTurnId"] is not None

    await wait_until(running, "the turn to start")
    session_id = (await crash_http.get(f"/chats/{chat_id}")).json()["sessionId"]
    await _wait_for_state(crash_http, session_id, "ready")
    archived = await crash_http.post(f"/sessions/{session_id}/archive")
    assert archived.status_code == 200
    output = await sending
    assert output["output"]["exitCode"] == 0, "the running turn's command finished undisturbed"
    await _wait_for_state(crash_http, session_id, "stopped")
    await _wait_packed_away(crash_stack, session_id)  # stopped, with the files kept in a snapshot


async def test_rapid_sessions_leave_no_orphan_sandboxes(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient
) -> None:
    chats = [new_chat_id() for _ in range(6)]
    await asyncio.gather(*(send(crash_http, chat, tool("bash", command="echo hi > f")) for chat in chats))
    sessions = [(await crash_http.get(f"/chats/{chat}")).json()["sessionId"] for chat in chats]
    for session_id in sessions:
        assert (await crash_http.post(f"/sessions/{session_id}/archive")).status_code == 200
    for session_id in sessions:
        await _wait_for_state(crash_http, session_id, "stopped")
        await _wait_packed_away(crash_stack, session_id)
    assert crash_stack.client is not None
    for session_id in sessions:
        lifecycle = await crash_stack.client.get_workflow_handle(f"sandbox:{session_id}").describe()
        assert lifecycle.status is not None and lifecycle.status.name == "COMPLETED"


async def test_sessions_never_see_each_others_files(crash_stack: ProcessStack, crash_http: httpx.AsyncClient) -> None:
    first, second = new_chat_id(), new_chat_id()
    await tool_output(crash_http, first, tool("write_file", path="secret.txt", content="first's secret"))
    first_session = (await crash_http.get(f"/chats/{first}")).json()["sessionId"]
    probe = f"cat ../{first_session}/secret.txt 2>/dev/null; find / -name secret.txt 2>/dev/null; echo probed"
    output = await tool_output(crash_http, second, tool("bash", command=probe))
    assert output["output"]["output"] == "probed\n", "nothing of the other session is reachable"
