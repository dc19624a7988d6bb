"""Whether provisioning a sandbox delays the first token: a new session's first turn against a turn in a warm
session, with the time provisioning and restoring from hibernation take beside it.

    .venv/bin/python -m bench.sandbox_first_token [--turns N] [--restores R]

Starts its own stack in a temporary directory (the worker uses bubblewrap when it is installed), prints progress on
stderr and the figures on stdout. The model answers at once ([[ttft:0]]), so the figures are turnflow's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.stack import BenchStack, describe_machine, progress, run_benchmark
from bench.stop_and_crash import TurnReader, table_lines, turn_deadline, turn_id_of, user_turn
from bench.turn_latency import Row
from tests.sse import sse_events

WORDS = 5
WARMUP_TURNS = 3
HIBERNATE_AFTER_S = 1
MEASURED_POLL_S = 0.01  # the resolution of the provisioning and restore figures
WAIT_POLL_S = 0.05
STATE_DEADLINE_S = 30.0
ADDED_TTFT_GOALS_MS = {50: 20.0, 95: 50.0}


@dataclass(frozen=True)
class TimedTurn:
    """Seconds from the POST to the first text-delta at the client and, when watched, to the sandbox being ready."""

    chat_id: str
    first_delta_s: float
    sandbox_ready_s: float | None


async def sandbox_state(http: httpx.AsyncClient, session_id: str) -> str | None:
    state: str | None = (await http.get(f"/sessions/{session_id}")).raise_for_status().json()["sandboxState"]
    return state


async def wait_for_state(http: httpx.AsyncClient, session_id: str, state: str, poll_s: float = WAIT_POLL_S) -> float:
    """Polls the session until its sandbox is in `state`; returns when that was first seen."""
    give_up_at = time.monotonic() + STATE_DEADLINE_S
    while (seen := await sandbox_state(http, session_id)) != state:
        if seen == "failed" or time.monotonic() > give_up_at:
            raise RuntimeError(f"session {session_id}: sandbox {seen!r}, not {state!r} (waited for it)")
        await asyncio.sleep(poll_s)
    return time.monotonic()


async def new_session(http: httpx.AsyncClient) -> str:
    """A session with no sandbox yet, whose id is known before its first turn so its state can be watched."""
    session_id: str = (await http.post("/sessions", json={})).raise_for_status().json()["id"]
    return session_id


async def timed_turn(
    stack: BenchStack, http: httpx.AsyncClient, name: str, session_id: str | None = None, watch: bool = False
) -> TimedTurn:
    """One short turn in a new chat (in a new session without `session_id`); with `watch`, the session's sandbox is
    polled from the POST until it is ready, which loads the API beside the turn."""
    assert session_id or not watch, "a watched turn needs its session's id"
    chat_id = f"{name}-{uuid.uuid4().hex[:8]}"
    prompt = f"[[ttft:0]] [[words:{WORDS}]] {chat_id}"
    async with turn_deadline(chat_id), asyncio.TaskGroup() as tasks:
        sent_at = time.monotonic()
        ready = (
            tasks.create_task(wait_for_state(http, session_id, "ready", MEASURED_POLL_S))
            if session_id and watch
            else None
        )
        async with http.stream("POST", "/chat/workflow", json=user_turn(chat_id, prompt, session_id)) as response:
            turn_id = turn_id_of(response)
            reader = TurnReader(sse_events(response))
            await reader.read()
    await stack.wait_turn_closed(turn_id)
    await stack.wait_quiet()
    if reader.last_chunk["type"] != "finish" or not reader.deltas:
        raise RuntimeError(f"turn {turn_id} ended with {reader.last_chunk} after {len(reader.deltas)} text-deltas")
    return TimedTurn(
        chat_id=chat_id,
        first_delta_s=reader.deltas[0][0] - sent_at,
        sandbox_ready_s=ready.result() - sent_at if ready else None,
    )


async def session_of(http: httpx.AsyncClient, chat_id: str) -> str:
    session_id: str = (await http.get(f"/chats/{chat_id}")).raise_for_status().json()["sessionId"]
    return session_id


async def measure(turns: int, restores: int) -> None:
    load_before = os.getloadavg()[0]  # other work on the box skews every figure; the report says how much there was
    with tempfile.TemporaryDirectory(prefix="turnflow-bench-", ignore_cleanup_errors=True) as work_dir:
        # A new session's title is logged as a warning when the stand-in's answer names none: expected here.
        async with BenchStack(Path(work_dir), worker_env={"TURNFLOW_LOG_LEVEL": "error"}) as stack:
            headers = {"Authorization": f"Bearer {stack.api_key}"}
            async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=60, trust_env=False) as http:
                progress(f"warm-up: {WARMUP_TURNS} first turns of new sessions (not counted)...")
                for n in range(WARMUP_TURNS):
                    warmup = await timed_turn(stack, http, f"warmup-{n}")
                    await wait_for_state(http, await session_of(http, warmup.chat_id), "ready")
                warm_session = await session_of(http, warmup.chat_id)

                progress(f"first token: {turns} new sessions and {turns} turns in a warm one, alternating...")
                cold, warm = [], []
                for n in range(turns):
                    cold.append(await timed_turn(stack, http, f"cold-{n}"))
                    # Its provisioning runs on after the turn: it must be over before the warm turn is measured.
                    await wait_for_state(http, await session_of(http, cold[-1].chat_id), "ready")
                    if await sandbox_state(http, warm_session) != "ready":
                        raise RuntimeError(f"the warm session {warm_session} is no longer ready")
                    warm.append(await timed_turn(stack, http, f"warm-{n}", warm_session))

                progress(f"provisioning: {turns} new sessions, sandboxState polled every {MEASURED_POLL_S * 1000:g} ms")
                provisioned = [
                    await timed_turn(stack, http, f"new-{n}", await new_session(http), watch=True) for n in range(turns)
                ]

                progress(f"restore: the worker restarted with TURNFLOW_SANDBOX_IDLE_HIBERNATE_S={HIBERNATE_AFTER_S}...")
                for worker in list(stack.workers):
                    await stack.stop_worker(worker)
                await stack.start_worker({"TURNFLOW_SANDBOX_IDLE_HIBERNATE_S": str(HIBERNATE_AFTER_S)})
                sleepy_session = await new_session(http)
                await timed_turn(stack, http, "first", sleepy_session, watch=True)
                progress(f"restore: {restores} turns, each once the session's sandbox has hibernated...")
                restored = []
                for n in range(restores):
                    await wait_for_state(http, sleepy_session, "hibernated")
                    restored.append(await timed_turn(stack, http, f"restore-{n}", sleepy_session, watch=True))
    report(turns, restores, cold, warm, provisioned, restored, load_before)


def report(
    turns: int,
    restores: int,
    cold: list[TimedTurn],
    warm: list[TimedTurn],
    provisioned: list[TimedTurn],
    restored: list[TimedTurn],
    load_before: float,
) -> None:
    unpolled = [
        Row("new session, first turn", [t.first_delta_s for t in cold], ADDED_TTFT_GOALS_MS),
        Row("warm session (sandbox ready), new chat", [t.first_delta_s for t in warm], ADDED_TTFT_GOALS_MS),
        Row(
            "  new - warm, paired by run",
            [c.first_delta_s - w.first_delta_s for c, w in zip(cold, warm, strict=True)],
            note="no goal: provisioning should add nothing",
        ),
    ]
    polled = [
        Row("new session: POST -> sandboxState ready", [_ready_s(t) for t in provisioned]),
        Row("  its POST -> first text-delta", [t.first_delta_s for t in provisioned]),
        Row("hibernated session: POST -> sandboxState ready", [_ready_s(t) for t in restored], note="restore"),
        Row("  its POST -> first text-delta", [t.first_delta_s for t in restored]),
    ]
    lines = [
        "",
        "turnflow sandbox provisioning and the first token (bench/sandbox_first_token.py)",
        describe_machine(load_before),
        f"each turn a new chat answered with {WORDS} words by a stand-in model with no TTFT of its own; "
        "worker (bubblewrap sandboxes when installed) and API as subprocesses, tuned Temporal dev server",
        f"goals (bench/README.md): added TTFT (p50 <= {ADDED_TTFT_GOALS_MS[50]:g}, "
        f"p95 <= {ADDED_TTFT_GOALS_MS[95]:g} ms), and provisioning must not delay the first token",
        "",
        f"POST -> first text-delta, nothing polled: {turns} new sessions alternating with {turns} turns in a warm one",
        *table_lines(unpolled),
        "",
        f"sandboxState polled via GET /sessions/{{id}} every {MEASURED_POLL_S * 1000:g} ms from the POST (the figures' "
        "resolution; the first tokens here carry that load):",
        f"{turns} new sessions; {restores} turns in one session, each after its sandbox hibernated "
        f"(TURNFLOW_SANDBOX_IDLE_HIBERNATE_S={HIBERNATE_AFTER_S})",
        *table_lines(polled),
        "",
        f"first text-delta before the sandbox was ready: {_first_before_ready(provisioned)} of {turns} new sessions, "
        f"{_first_before_ready(restored)} of {restores} restores",
    ]
    print("\n".join(lines), flush=True)


def _ready_s(turn: TimedTurn) -> float:
    assert turn.sandbox_ready_s is not None, "a watched turn"
    return turn.sandbox_ready_s


def _first_before_ready(turns: list[TimedTurn]) -> int:
    return sum(1 for t in turns if t.first_delta_s < _ready_s(t))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_first_token", description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20, help="measured turns of each kind (default 20)")
    parser.add_argument("--restores", type=int, default=20, help="measured restores from hibernation (default 20)")
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.turns < 2 or args.restores < 2:
        raise SystemExit("--turns and --restores must be at least 2 (percentiles need two samples)")
    run_benchmark(lambda: measure(args.turns, args.restores))


if __name__ == "__main__":
    main()
