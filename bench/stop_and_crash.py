"""Stop latency and crash resume time against the goals in bench/README.md: stop p99 <= 250 ms, worker kill -9 ->
streaming resumes at the client p95 <= 1 s, with no word of the answer seen twice.

    .venv/bin/python -m bench.stop_and_crash [--stops N] [--crashes M]

Starts its own stack with two workers (a killed one leaves a survivor to resume on) in a temporary directory,
prints progress on stderr and the figures on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.retry_causes import retry_causes, retry_path
from bench.stack import BenchStack, describe_machine, progress, run_benchmark
from bench.turn_latency import PERCENTILES, Row
from tests.sse import SseEvent, sse_events
from tests.standin.anthropic_server import Call

DELAY_MS = 20.0
STOP_WORDS = 400  # far more than a stop lets through: every run is cut mid-answer
CRASH_WORDS = 120  # enough to go on well past the resume, so a repeat or a gap would show
DELTAS_BEFORE_STOP = 5
DELTAS_BEFORE_KILL = 10
WARMUP_STOPS = 2
RUN_DEADLINE_S = 60.0


@dataclass
class TurnReader:
    """A turn's stream as the client sees it: each text-delta with its arrival time, and when [DONE] came."""

    events: AsyncIterator[SseEvent]
    deltas: list[tuple[float, str]] = field(default_factory=list)
    last_chunk: dict[str, Any] = field(default_factory=dict)
    done_at: float | None = None

    async def read(self, deltas: int | None = None) -> None:
        """Reads until `deltas` text-deltas in all have arrived or, without it, through data: [DONE]."""
        async for event in self.events:
            now = time.monotonic()
            if event.data == "[DONE]":
                if deltas is not None:
                    raise RuntimeError(f"the turn ended after {len(self.deltas)} text-deltas, before {deltas}")
                self.done_at = now
                return
            self.last_chunk = event.chunk
            if self.last_chunk["type"] == "error":
                raise RuntimeError(f"the turn failed: {self.last_chunk.get('errorText')}")
            if self.last_chunk["type"] == "text-delta":
                self.deltas.append((now, self.last_chunk["delta"]))
                if deltas is not None and len(self.deltas) >= deltas:
                    return
        raise RuntimeError("the stream closed without data: [DONE]")

    @property
    def text(self) -> str:
        return "".join(delta for _, delta in self.deltas)


@contextlib.asynccontextmanager
async def turn_deadline(chat_id: str, deadline_s: float = RUN_DEADLINE_S) -> AsyncIterator[None]:
    """A hung turn fails the benchmark naming its chat, rather than with a bare TimeoutError."""
    try:
        async with asyncio.timeout(deadline_s):
            yield
    except TimeoutError:
        raise RuntimeError(f"chat {chat_id}: no end of the turn within {deadline_s:g} s; see the logs above") from None


def user_turn(chat_id: str, prompt: str, session_id: str | None = None) -> dict[str, Any]:
    """The body DefaultChatTransport sends for a chat's first message."""
    message = {"id": f"u-{chat_id}", "role": "user", "parts": [{"type": "text", "text": prompt}]}
    body: dict[str, Any] = {"id": chat_id, "messages": [message], "trigger": "submit-message"}
    return body | ({"sessionId": session_id} if session_id else {})


def turn_id_of(response: httpx.Response) -> str:
    if response.status_code != 200:
        raise RuntimeError(f"POST /chat/workflow answered {response.status_code}")
    return response.headers["x-turn-id"]


def table_lines(rows: Sequence[Row]) -> list[str]:
    """The layout of bench.turn_latency's table, so the benchmarks' figures read alike."""
    width = max(len(row.label) for row in rows)
    header = f"{'metric':<{width}}  {'n':>5}  " + "  ".join(f"{f'p{p} ms':>8}" for p in PERCENTILES) + "  goal (ms)"
    lines = [header]
    for row in rows:
        figures = "  ".join(f"{value:>8.1f}" for value in row.percentiles_ms().values())
        lines.append(f"{row.label:<{width}}  {len(row.samples_s):>5}  {figures}  {row.goal_text()}".rstrip())
    return lines


@dataclass(frozen=True)
class StopSample:
    """Seconds from sending the stop request to each of its effects."""

    upstream_closed_s: float
    stream_ended_s: float
    answered_s: float
    aborted: bool


@dataclass(frozen=True)
class CrashSample:
    """Seconds from the kill to the retried model request and to the first of its text at the client; what the
    client assembled against the stand-in's w0..wN; how Temporal came to retry the model step."""

    retry_requested_s: float
    resumed_s: float
    in_flight_deltas: int
    repeated_words: int
    missing_words: int
    exact: bool
    retry_path: str


async def run_stop(stack: BenchStack, http: httpx.AsyncClient, session_id: str, name: str) -> StopSample:
    chat_id = f"{name}-{uuid.uuid4().hex[:8]}"
    prompt = f"[[ttft:0]] [[words:{STOP_WORDS}]] [[delay:{DELAY_MS:g}]] {chat_id}"
    async with (
        turn_deadline(chat_id),
        http.stream("POST", "/chat/workflow", json=user_turn(chat_id, prompt, session_id)) as response,
    ):
        turn_id = turn_id_of(response)
        reader = TurnReader(sse_events(response))
        await reader.read(DELTAS_BEFORE_STOP)
        sent_at = time.monotonic()
        async with asyncio.TaskGroup() as tasks:
            stopping = tasks.create_task(_stop(http, chat_id, turn_id))
            await reader.read()
    call = stack.standin.last_call_for(prompt)
    await stack.wait_turn_closed(turn_id)
    await stack.wait_quiet()
    if call.disconnected_at is None or call.finished or reader.done_at is None:
        raise RuntimeError(f"turn {turn_id}: the stop did not close the model's stream")
    return StopSample(
        upstream_closed_s=call.disconnected_at - sent_at,
        stream_ended_s=reader.done_at - sent_at,
        answered_s=stopping.result() - sent_at,
        aborted=reader.last_chunk["type"] == "abort",
    )


async def _stop(http: httpx.AsyncClient, chat_id: str, turn_id: str) -> float:
    """Stops the turn the way a client's stop button does; returns when the answer came."""
    response = await http.post(f"/chat/workflow/{chat_id}/stop", json={"turnId": turn_id})
    answered_at = time.monotonic()
    if response.status_code != 202:
        raise RuntimeError(f"stopping turn {turn_id} answered {response.status_code}: {response.text}")
    return answered_at


async def run_crash(stack: BenchStack, http: httpx.AsyncClient, session_id: str, name: str) -> CrashSample:
    chat_id = f"{name}-{uuid.uuid4().hex[:8]}"
    prompt = f"[[ttft:0]] [[words:{CRASH_WORDS}]] [[delay:{DELAY_MS:g}]] {chat_id}"
    async with (
        turn_deadline(chat_id),
        http.stream("POST", "/chat/workflow", json=user_turn(chat_id, prompt, session_id)) as response,
    ):
        turn_id = turn_id_of(response)
        reader = TurnReader(sse_events(response))
        await reader.read(DELTAS_BEFORE_KILL)
        victim = stack.worker_serving(stack.standin.last_call_for(prompt).peer_port or 0)
        killed_at = time.monotonic()
        await stack.kill_worker(victim)
        retry = await _read_until_resumed(reader, stack.standin.calls, chat_id, killed_at)
        resumed_at = reader.deltas[-1][0]
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(stack.start_worker())  # boots while the answer ends: the figures are taken
            await reader.read()
    await stack.wait_turn_closed(turn_id)
    await stack.wait_quiet()
    if reader.last_chunk["type"] != "finish":
        raise RuntimeError(f"turn {turn_id} ended with {reader.last_chunk} after the crash")
    words = reader.text.split()
    expected = [f"w{i}" for i in range(CRASH_WORDS)]
    causes = await retry_causes(stack.temporal, await stack.workflow_id_of(turn_id))
    return CrashSample(
        retry_requested_s=retry.started - killed_at,
        resumed_s=resumed_at - killed_at,
        in_flight_deltas=sum(1 for at, _ in reader.deltas if killed_at <= at < retry.started),
        repeated_words=len(words) - len(set(words)),
        missing_words=len(set(expected) - set(words)),
        exact=words == expected,
        retry_path=retry_path(causes),
    )


async def _read_until_resumed(reader: TurnReader, calls: list[Call], chat_id: str, killed_at: float) -> Call:
    """Reads until text of the retried model call arrives (deltas the dead worker had already logged may come
    first); returns that call."""
    while True:
        retry = _retry_of(calls, chat_id, killed_at)
        if retry is not None and reader.deltas[-1][0] >= retry.started:
            return retry
        await reader.read(len(reader.deltas) + 1)


def _retry_of(calls: list[Call], chat_id: str, killed_at: float) -> Call | None:
    """The model request that continues the answer, once made (its last message is the instruction to continue,
    not the prompt, so it is found by the chat id in its conversation)."""
    for call in reversed(calls):
        if call.started < killed_at:
            return None
        if chat_id in json.dumps(call.body["messages"]):
            return call
    return None


async def measure(stops: int, crashes: int) -> None:
    load_before = os.getloadavg()[0]  # other work on the box skews every figure; the report says how much there was
    with tempfile.TemporaryDirectory(prefix="turnflow-bench-", ignore_cleanup_errors=True) as work_dir:
        # Every stop makes the worker log a failed activity with its traceback: expected here, so only errors show.
        quiet = {"TURNFLOW_LOG_LEVEL": "error"}
        async with BenchStack(Path(work_dir), workers=2, worker_env=quiet) as stack:
            headers = {"Authorization": f"Bearer {stack.api_key}"}
            async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=60, trust_env=False) as http:
                # One session for every chat: its sandbox is provisioned once, not beside every measured turn.
                session_id = (await http.post("/sessions", json={})).raise_for_status().json()["id"]
                progress(f"warm-up: {WARMUP_STOPS} stopped turns (not counted)...")
                for n in range(WARMUP_STOPS):
                    await run_stop(stack, http, session_id, f"warmup-{n}")
                progress(f"stop: {stops} turns, each stopped after {DELTAS_BEFORE_STOP} deltas...")
                stop_samples = [await run_stop(stack, http, session_id, f"stop-{n}") for n in range(stops)]
                crash_samples = []
                for n in range(crashes):
                    progress(f"crash {n + 1}/{crashes}: kill -9 the streaming worker, read to the end, replace it...")
                    crash_samples.append(await run_crash(stack, http, session_id, f"crash-{n}"))
    report(stops, crashes, stop_samples, crash_samples, load_before)


def report(
    stops: int, crashes: int, stop_samples: list[StopSample], crash_samples: list[CrashSample], load_before: float
) -> None:
    rows = [
        Row("stop request -> model connection closed", [s.upstream_closed_s for s in stop_samples], {99: 250}),
        Row("stop request -> data: [DONE] at the client", [s.stream_ended_s for s in stop_samples], {99: 250}),
        Row("  stop request -> 202 answered", [s.answered_s for s in stop_samples]),
        *crash_rows(crash_samples),
    ]
    not_aborted = sum(1 for s in stop_samples if not s.aborted)
    lines = [
        "",
        "turnflow stop and crash (bench/stop_and_crash.py; goals from bench/README.md)",
        describe_machine(load_before),
        f"stop: {stops} turns (+{WARMUP_STOPS} warm-up), each a new chat in one warm session, stopped after "
        f"{DELTAS_BEFORE_STOP} of {STOP_WORDS} deltas {DELAY_MS:g} ms apart",
        f"crash: {crashes} turns on two workers; the one streaming is killed (SIGKILL) after {DELTAS_BEFORE_KILL} of "
        f"{CRASH_WORDS} deltas and replaced once streaming has resumed",
        "worker and API as subprocesses, stand-in model, tuned Temporal dev server",
        "",
        *table_lines(rows),
        "",
        "checks",
        f"  stopped turns whose stream did not end with abort: {not_aborted} of {stops}",
        *crash_checks(crash_samples),
    ]
    print("\n".join(lines), flush=True)


def crash_rows(samples: Sequence[CrashSample]) -> list[Row]:
    return [
        Row("kill -9 -> next text-delta at the client", [s.resumed_s for s in samples], {95: 1000}),
        Row("  kill -9 -> retried model request", [s.retry_requested_s for s in samples]),
    ]


def crash_checks(samples: Sequence[CrashSample]) -> list[str]:
    """What the client got across the crashed turns, and how each turn's retry came about."""
    paths = Counter(s.retry_path for s in samples)
    return [
        f"  words the client saw twice after a crash: {sum(s.repeated_words for s in samples)} in {len(samples)} "
        f"turns; turns with a repeated word: {sum(s.repeated_words > 0 for s in samples)} (goal 0)",
        f"  words the client never got: {sum(s.missing_words for s in samples)}; turns with a lost word: "
        f"{sum(s.missing_words > 0 for s in samples)} (goal 0)",
        f"  crashed turns whose text is not exactly w0..w{CRASH_WORDS - 1}: "
        f"{sum(not s.exact for s in samples)} of {len(samples)} (goal 0)",
        f"  deltas the dead worker had sent that reached the client after the kill: "
        f"{sum(s.in_flight_deltas for s in samples)}",
        "  the model step's retry was reached by: "
        + "; ".join(f"{path}: {count}" for path, count in sorted(paths.items())),
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.stop_and_crash", description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=30, help="measured stopped turns (default 30)")
    parser.add_argument("--crashes", type=int, default=10, help="measured worker kills (default 10)")
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.stops < 2 or args.crashes < 2:
        raise SystemExit("--stops and --crashes must be at least 2 (percentiles need two samples)")
    run_benchmark(lambda: measure(args.stops, args.crashes))


if __name__ == "__main__":
    main()
