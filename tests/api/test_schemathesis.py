"""Property-based requests over the whole OpenAPI document against the real served stack: whatever is sent, with an
API key or without, the API never answers 5xx, and every 4xx is a problem document."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from models.pricing import PRICES
from tests.conftest import Tenant
from tests.sse import read_stream
from tests.turns.helpers import new_chat_id, user_message

PROBLEM = "application/problem+json"
# Bounded so the run fits in the suite: examples per operation, and the slowest answer allowed.
EXAMPLES_WITH_KEY = 40
EXAMPLES_WITHOUT_KEY = 5
REQUEST_TIMEOUT_S = 60
SEND = "POST /chat/workflow"


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def check(self, label: str, case: schemathesis.Case[Any], response: Any) -> None:
        status = response.status_code
        self.statuses[status] = self.statuses.get(status, 0) + 1
        kind = ",".join(response.headers.get("content-type", []))
        if status >= 500:
            self.problems.append(f"{label}: {status} for {case.as_curl_command()}\n  {response.text[:300]}")
        elif status >= 400 and not kind.startswith(PROBLEM):
            self.problems.append(f"{label}: {status} as {kind!r} for {case.as_curl_command()}")


async def _existing_ids(http: httpx.AsyncClient) -> dict[str, str]:
    """A session, a chat and a finished turn of the tenant, so requests also reach past the 404 of unknown ids."""
    session = (await http.post("/sessions", json={})).json()["id"]
    chat = new_chat_id()
    body = {"id": chat, "sessionId": session, "messages": [user_message("hello")]}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        turn = response.headers["x-turn-id"]
        await read_stream(response)
    return {"session_id": session, "chat_id": chat, "turn_id": turn}


def _sends(operation: Any, chat_id: str) -> st.SearchStrategy[schemathesis.Case[Any]]:
    """Well-formed sends with arbitrary text, to the existing chat or a new one: random bodies rarely are."""
    message = st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=20),
            "role": st.just("user"),
            "parts": st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text()}), max_size=3),
        }
    )
    body = st.fixed_dictionaries(
        {"id": st.sampled_from([chat_id, new_chat_id()]), "messages": st.lists(message, min_size=1, max_size=3)},
        optional={
            "model": st.sampled_from(sorted(PRICES)),
            "multitaskStrategy": st.sampled_from(["reject", "enqueue", "interrupt"]),
            "messageId": st.text(max_size=20),
        },
    )
    return body.map(lambda sent: operation.Case(body=sent, media_type="application/json"))


def _operation_test(
    operation: Any, base_url: str, headers: dict[str, str], ids: dict[str, str], examples: int, findings: Findings
) -> Any:
    known = {name: ids[name] for name in re.findall(r"{(\w+)}", operation.path) if name in ids}
    strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    if known:
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters=known) for mode in GenerationMode]
    if operation.label == SEND:
        strategies.append(_sends(operation, ids["chat_id"]))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*strategies))
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
        findings.check(operation.label, case, response)

    return run


def _explore(schema: Any, base_url: str, headers: dict[str, str], ids: dict[str, str], examples: int) -> Findings:
    """Runs in a thread: the served app lives on the test's event loop, which must stay free to answer."""
    findings = Findings()
    for result in schema.get_all_operations():
        _operation_test(result.ok(), base_url, headers, ids, examples, findings)()
    return findings


@pytest.mark.slow
async def test_no_request_gets_a_server_error_and_every_4xx_is_a_problem(api_url: str, tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=api_url, headers=tenant.headers, timeout=30) as http:
        schema = schemathesis.openapi.from_dict((await http.get("/openapi.json")).json())
        ids = await _existing_ids(http)
    with_key = await asyncio.to_thread(_explore, schema, api_url, tenant.headers, ids, EXAMPLES_WITH_KEY)
    without_key = await asyncio.to_thread(_explore, schema, api_url, {}, ids, EXAMPLES_WITHOUT_KEY)
    problems = with_key.problems + without_key.problems
    assert not problems, "\n".join(problems)
    # The run reached handlers, not only the validation layer: some requests succeeded, some were refused.
    assert sum(n for status, n in with_key.statuses.items() if status < 300) > 50, with_key.statuses
    assert set(without_key.statuses) <= {200, 400, 401, 404, 405, 413, 422}, without_key.statuses
