"""The stream as real AI SDK clients read it: an early, strictly validating 6.0.x and the latest release.

Each client's DefaultChatTransport talks to the API over HTTP and its readUIMessageStream assembles the message;
that message must equal the one turnflow persisted.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.sse import sse_events
from tests.turns.helpers import new_chat_id, persisted_messages, user_message

CONFORMANCE = Path(__file__).parent.parent / "conformance"
CLIENTS = ["ai-v6-early", "ai-latest"]


async def _client(package: str, tenant: Tenant, *args: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the AI SDK conformance tests (make test installs the packages)"
    assert (CONFORMANCE / "node_modules" / package).exists(), "run `make test` (npm ci in tests/conformance)"
    process = await asyncio.create_subprocess_exec(
        node,
        str(CONFORMANCE / "read_turn.mjs"),
        package,
        *args,
        cwd=CONFORMANCE,
        env={"TURNFLOW_KEY": tenant.key, "PATH": str(Path(node).parent)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert out, err.decode()
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    assert process.returncode == 0, result
    return result


def _comparable(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": message["id"],
        "role": message["role"],
        "parts": message["parts"],
        "metadata": message.get("metadata"),
    }


@pytest.mark.parametrize("package", CLIENTS)
async def test_client_assembles_the_persisted_message(
    package: str, api_url: str, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    chat_id = new_chat_id()
    prompt = 'list it [[tool:list_files:{"path": "."}]] [[tool:read_file:{"path": "missing.txt"}]]'
    body = {"id": chat_id, "messages": [user_message(prompt)], "subjectId": "artist-3"}
    result = await _client(package, tenant, "send", f"{api_url}/chat/workflow", json.dumps(body))
    assert result["chunkTypes"][0] == "start" and result["chunkTypes"][-1] == "finish"
    persisted = (await persisted_messages(http, chat_id))[-1]
    assert _comparable(result["message"]) == _comparable(persisted)
    states = sorted(p["state"] for p in persisted["parts"] if p["type"].startswith("tool-"))
    assert states == ["output-available", "output-error"]


@pytest.mark.parametrize("package", CLIENTS)
async def test_client_assembles_preliminary_tool_output(
    package: str, api_url: str, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    chat_id = new_chat_id()
    command = json.dumps({"command": "for i in 1 2 3; do echo step$i; sleep 0.4; done"})
    body = {"id": chat_id, "messages": [user_message(f"[[tool:bash:{command}]] long one")]}
    result = await _client(package, tenant, "send", f"{api_url}/chat/workflow", json.dumps(body))
    assert result["chunkTypes"].count("tool-output-available") >= 2, "preliminary output was streamed"
    persisted = (await persisted_messages(http, chat_id))[-1]
    assert _comparable(result["message"]) == _comparable(persisted)
    bash = next(p for p in persisted["parts"] if p["type"] == "tool-bash")
    assert bash["output"]["output"] == "step1\nstep2\nstep3\n" and "preliminary" not in bash


@pytest.mark.parametrize("package", CLIENTS)
async def test_client_resume_rebuilds_the_running_turn(
    package: str, api_url: str, tenant: Tenant, http: httpx.AsyncClient
) -> None:
    chat_id = new_chat_id()
    # Long enough to outlast the client's own start (a second or two of node on a busy machine).
    body = {"id": chat_id, "messages": [user_message("[[words:200]] [[delay:25]] slow")]}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        await anext(sse_events(response))  # the turn is running; this client now "reloads the page"
        result = await _client(package, tenant, "resume", f"{api_url}/chat/workflow", chat_id)
    persisted = (await persisted_messages(http, chat_id))[-1]
    assert _comparable(result["message"]) == _comparable(persisted)
    idle = await _client(package, tenant, "resume", f"{api_url}/chat/workflow", chat_id)
    assert idle["message"] is None
