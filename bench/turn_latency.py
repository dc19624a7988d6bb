"""Turn latency against the goals in bench/README.md: added TTFT and delta delivery, with workflow_streams measured
beside it.

    .venv/bin/python -m bench.turn_latency [--turns N] [--deltas M] [--reference-runs R]

Starts its own stack in a temporary directory, prints progress on stderr and the figures on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import httpx

from bench.stack import BenchStack, progress, run_benchmark
from bench.stream_reference import StreamRun, StreamVariant, run_reference
from bench.turn_timeline import TurnTimeline, turn_timeline
from tests.sse import sse_events

DELAY_MS = 20.0
WARMUP_TURNS = 3
PERCENTILES = (50, 95, 99)
REFERENCE_VARIANTS = (
    StreamVariant(
        "workflow_streams, poll_cooldown 100 ms (default)",
        timedelta(milliseconds=100),
        "reference; measured ~65 p50 on the 2-core box",
    ),
    StreamVariant(
        "workflow_streams, poll_cooldown 0",
        timedelta(0),
        "reference at its fastest (the library advises 0 for tests only)",
    ),
)


def run_deadline_s(deltas: int) -> float:
    """Long enough for any healthy turn; a hung one fails the benchmark with a clear error instead."""
    return 30 + deltas * DELAY_MS / 1000


@dataclass(frozen=True)
class TurnSample:
    """One turn's milestones on the shared monotonic clock (s), and its per-delta emit→receive latencies."""

    sent_at: float
    timeline: TurnTimeline
    model_started: float
    model_first_token: float
    first_delta_received: float
    delivery_s: list[float]

    @property
    def added_ttft_s(self) -> float:
        return (self.first_delta_received - self.sent_at) - (self.model_first_token - self.model_started)

    def stages_s(self) -> list[float]:
        """The added TTFT cut at each milestone; the stages add up to it."""
        t = self.timeline
        return [
            t.workflow_started - self.sent_at,
            t.first_task_started - t.workflow_started,
            t.model_step_started - t.first_task_started,
            self.model_started - t.model_step_started,
            self.first_delta_received - self.model_first_token,
        ]


STAGES = (
    "POST -> workflow started (API: auth, DB, start RPC)",
    "-> first workflow task started (server dispatch)",
    "-> model step activity started (workflow task)",
    "-> model request sent (activity setup)",
    "model first token -> client",
)


@dataclass(frozen=True)
class Row:
    """One line of the table: samples in seconds, the bench/README.md goal per percentile in ms, or a note."""

    label: str
    samples_s: list[float]
    goals_ms: dict[int, float] = field(default_factory=dict)
    note: str = ""

    def percentiles_ms(self) -> dict[int, float]:
        cuts = statistics.quantiles(self.samples_s, n=100, method="inclusive")
        return {p: cuts[p - 1] * 1000 for p in PERCENTILES}

    def goal_text(self) -> str:
        if not self.goals_ms:
            return self.note
        figures = self.percentiles_ms()
        met = all(figures[p] <= goal for p, goal in self.goals_ms.items())
        wanted = ", ".join(f"p{p} <= {goal:g}" for p, goal in self.goals_ms.items())
        return f"{wanted}: {'met' if met else 'MISSED'}"


async def run_turn(stack: BenchStack, http: httpx.AsyncClient, chat_id: str, deltas: int) -> TurnSample:
    """A new chat per turn, so every turn is a first turn with the same (one-message) history."""
    prompt = f"[[ttft:0]] [[delay:{DELAY_MS:g}]] [[words:{deltas}]] {chat_id}"
    message = {"id": f"u-{chat_id}", "role": "user", "parts": [{"type": "text", "text": prompt}]}
    received: list[float] = []
    wall_offset_s = time.time() - time.monotonic()
    sent_at = time.monotonic()
    async with (
        asyncio.timeout(run_deadline_s(deltas)),
        http.stream("POST", "/chat/workflow", json={"id": chat_id, "messages": [message]}) as response,
    ):
        if response.status_code != 200:
            raise RuntimeError(f"POST /chat/workflow answered {response.status_code}: {(await response.aread())!r}")
        turn_id = response.headers["x-turn-id"]
        async for event in sse_events(response):
            now = time.monotonic()
            if event.data == "[DONE]":
                break
            chunk = event.chunk
            if chunk["type"] == "text-delta":
                received.append(now)
            elif chunk["type"] == "error":
                raise RuntimeError(f"turn {turn_id} failed: {chunk.get('errorText')}")
    call = stack.standin.last_call_for(prompt)
    emitted = stack.standin.emitted[prompt]
    if call.first_token_at is None or len(emitted) != len(received) or not received:
        raise RuntimeError(
            f"turn {turn_id}: the stand-in emitted {len(emitted)} deltas, the client got {len(received)}"
        )
    return TurnSample(
        sent_at=sent_at,
        timeline=await turn_timeline(stack.engine, stack.temporal, turn_id, wall_offset_s),
        model_started=call.started,
        model_first_token=call.first_token_at,
        first_delta_received=received[0],
        delivery_s=[got - sent for sent, got in zip(emitted, received, strict=True)],
    )


async def measure(turns: int, deltas: int, reference_runs: int) -> None:
    load_before = os.getloadavg()[0]  # other work on the box skews every figure; the report says how much there was
    with tempfile.TemporaryDirectory(prefix="turnflow-bench-", ignore_cleanup_errors=True) as work_dir:
        async with BenchStack(Path(work_dir)) as stack:
            headers = {"Authorization": f"Bearer {stack.api_key}"}
            async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=60, trust_env=False) as http:
                progress(f"warm-up: {WARMUP_TURNS} turns (not counted)...")
                for n in range(WARMUP_TURNS):
                    await run_turn(stack, http, f"warmup-{n}", deltas)
                progress(f"turnflow: {turns} turns x {deltas} deltas at {DELAY_MS:g} ms...")
                samples = [await run_turn(stack, http, f"turn-{n}", deltas) for n in range(turns)]
            references: list[tuple[StreamVariant, list[StreamRun]]] = []
            for variant in REFERENCE_VARIANTS:
                progress(f"reference, {variant.label}: 1 warm-up + {reference_runs} runs x {deltas} deltas...")
                runs = await run_reference(stack.temporal, variant, reference_runs, deltas, DELAY_MS, warmup=1)
                references.append((variant, runs))
    report(turns, deltas, reference_runs, samples, references, load_before)


def report(
    turns: int,
    deltas: int,
    reference_runs: int,
    samples: list[TurnSample],
    references: list[tuple[StreamVariant, list[StreamRun]]],
    load_before: float,
) -> None:
    rows = [
        Row(
            "added TTFT (POST -> first text-delta, less model TTFT)",
            [s.added_ttft_s for s in samples],
            goals_ms={50: 20, 95: 50},
        ),
        *(
            Row(f"  {stage}", list(values))
            for stage, values in zip(STAGES, zip(*(s.stages_s() for s in samples), strict=True), strict=True)
        ),
        Row(
            "delta delivery, turnflow (model emits -> client)",
            [d for s in samples for d in s.delivery_s],
            goals_ms={50: 5, 99: 50},
        ),
    ]
    rows += [
        Row(
            f"delta delivery, {variant.label}",
            [d for run in runs for d in run.delivery_s],
            note=variant.note,
        )
        for variant, runs in references
    ]
    width = max(len(row.label) for row in rows)
    lines = [
        "",
        "turnflow turn latency (bench/turn_latency.py; goals from bench/README.md)",
        f"machine: {_cpu_count()} CPUs ({_cpu_model()}), load average {load_before:.2f} before start; "
        f"Python {platform.python_version()}, temporalio {version('temporalio')}",
        f"turnflow: {turns} turns (+{WARMUP_TURNS} warm-up), each a new chat, {deltas} deltas {DELAY_MS:g} ms apart; "
        "worker and API as subprocesses, stand-in model, tuned Temporal dev server",
        f"reference: {reference_runs} runs (+1 warm-up) per variant, {deltas} deltas {DELAY_MS:g} ms apart, "
        "published with force_flush from an activity; its worker runs in the benchmark process",
        "",
        f"{'metric':<{width}}  {'n':>5}  " + "  ".join(f"{f'p{p} ms':>7}" for p in PERCENTILES) + "  goal (ms)",
    ]
    for row in rows:
        figures = "  ".join(f"{value:>7.1f}" for value in row.percentiles_ms().values())
        lines.append(f"{row.label:<{width}}  {len(row.samples_s):>5}  {figures}  {row.goal_text()}".rstrip())
    turn_history = max(s.timeline.history_events for s in samples)
    histories = [(f"turnflow turn ({deltas} deltas), largest", turn_history, "goal <= 40, no token events")]
    histories += [(f"{variant.label} ({deltas} deltas)", runs[-1].history_events, "") for variant, runs in references]
    lines += ["", "workflow history events"]
    lines += [f"  {label:<{width - 2}}  {events:>5}  {note}".rstrip() for label, events, note in histories]
    print("\n".join(lines), flush=True)


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))  # what `nproc` prints


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.turn_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30, help="measured turns (default 30)")
    parser.add_argument("--deltas", type=int, default=50, help=f"deltas per turn, {DELAY_MS:g} ms apart (default 50)")
    parser.add_argument(
        "--reference-runs", type=int, default=10, help="measured workflow_streams runs per variant (default 10)"
    )
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.turns < 2 or args.deltas < 2 or args.reference_runs < 1:
        raise SystemExit("--turns and --deltas must be at least 2, --reference-runs at least 1")
    run_benchmark(lambda: measure(args.turns, args.deltas, args.reference_runs))


if __name__ == "__main__":
    main()
