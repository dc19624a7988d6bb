"""Scaling against the goals in bench/README.md: turns/s and first text from the same offered load on 1, 2 and 4
workers, with the CPU every process used; then worker kill -9 -> next text at the client over 20 kills on 2 workers.

    .venv/bin/python -m bench.scale [--workers 1,2,4] [--senders S] [--seconds N] [--words K] [--kills M]

Starts one stack in a temporary directory and adds or stops workers between runs; prints progress on stderr and the
figures on stdout. Every process shares the box's cores, so each run's CPU per process is printed beside its rate.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.load import (
    DELAY_MS,
    FIRST_TEXT_GOALS_MS,
    REST_S,
    ThroughputRun,
    api_client,
    create_sessions,
    measure_throughput,
    turns_for,
    warm_up,
)
from bench.stack import BenchStack, describe_machine, progress, run_benchmark
from bench.stop_and_crash import (
    CRASH_WORDS,
    DELTAS_BEFORE_KILL,
    CrashSample,
    crash_checks,
    crash_rows,
    run_crash,
    table_lines,
)
from bench.turn_latency import Row

CRASH_WORKERS = 2  # a killed worker leaves one survivor to resume on, as in production's smallest deployment
GROWTH = 1.05  # a rate this much higher than the last counts as grown; less is noise on a shared box
CORES_SPENT = 0.9  # the box's cores were this busy (any process): more workers cannot add throughput


@dataclass(frozen=True)
class ScaleRun:
    workers: int
    throughput: ThroughputRun

    @property
    def first_text_s(self) -> list[float]:
        return [s.first_delta_received - s.sent_at for s in self.throughput.samples]

    @property
    def stack_busy(self) -> float:
        """The share of the cores the stack's processes (the benchmark's own included) used over the run."""
        cpu = self.throughput.cpu
        return cpu.share_of_cores(sum(cpu.seconds.values()))

    @property
    def box_busy(self) -> float:
        """The share of the cores every process on the box used over the run, other work's included."""
        cpu = self.throughput.cpu
        return cpu.share_of_cores(cpu.box_s)

    @property
    def cpu_ms_per_turn(self) -> float:
        cpu = self.throughput.cpu
        return sum(cpu.above_rest(name) for name in cpu.seconds) / len(self.throughput.samples) * 1000


async def set_workers(stack: BenchStack, count: int) -> None:
    """Starts or gracefully stops workers until `count` poll the task queue."""
    while len(stack.workers) < count:
        progress(f"starting worker {len(stack.workers) + 1} of {count}...")
        await stack.start_worker()
    while len(stack.workers) > count:
        progress(f"stopping a worker, {len(stack.workers) - 1} left...")
        await stack.stop_worker(stack.workers[-1])


async def run_phases(
    stack: BenchStack, workers: Sequence[int], senders: int, seconds: float, words: int, kills: int
) -> tuple[list[ScaleRun], list[CrashSample]]:
    """The same offered load on each worker count in turn, then `kills` crashes on CRASH_WORKERS workers."""
    runs: list[ScaleRun] = []
    async with api_client(stack, connections=senders + 1) as http:
        sessions = await create_sessions(http, senders)
        for count in workers:
            await set_workers(stack, count)
            progress(f"{count} worker(s): warm-up, one turn in each of {senders} sessions (not counted)...")
            await warm_up(stack, http, sessions, words)
            progress(f"{count} worker(s): {senders} concurrent senders for {seconds:g} s...")
            throughput = await measure_throughput(stack, http, sessions, turns_for(seconds), words, each_worker=True)
            runs.append(ScaleRun(count, throughput))
            await stack.wait_quiet()
        await set_workers(stack, CRASH_WORKERS)
        crashes: list[CrashSample] = []
        for n in range(kills):
            progress(f"crash {n + 1}/{kills}: kill -9 the streaming worker, read to the end, replace it...")
            crashes.append(await run_crash(stack, http, sessions[0], f"crash-{n}"))
    return runs, crashes


async def measure(workers: Sequence[int], senders: int, seconds: float, words: int, kills: int) -> None:
    load_before = os.getloadavg()[0]  # other work on the box skews every figure; the report says how much there was
    with tempfile.TemporaryDirectory(prefix="turnflow-bench-", ignore_cleanup_errors=True) as work_dir:
        # A stopped worker and every kill make workers log failed activities with tracebacks: expected here.
        quiet = {"TURNFLOW_LOG_LEVEL": "error"}
        async with BenchStack(Path(work_dir), workers=workers[0], worker_env=quiet) as stack:
            runs, crashes = await run_phases(stack, workers, senders, seconds, words, kills)
    report(runs, crashes, senders, seconds, words, load_before)


def report(
    runs: Sequence[ScaleRun],
    crashes: Sequence[CrashSample],
    senders: int,
    seconds: float,
    words: int,
    load_before: float,
) -> None:
    cores = len(os.sched_getaffinity(0))
    summary = [
        f"  {'workers':>7}  {'turns':>6}  {'turns/s':>7}  {'first text p50 ms':>17}  {'p95 ms':>7}  "
        f"{'CPU ms/turn':>11}  {f'stack CPU of {cores} cores':>22}  {'box CPU':>7}"
    ]
    for run in runs:
        first_text = Row("", run.first_text_s).percentiles_ms()
        summary.append(
            f"  {run.workers:>7}  {len(run.throughput.samples):>6}  {run.throughput.turns_per_s:>7.1f}  "
            f"{first_text[50]:>17.1f}  {first_text[95]:>7.1f}  {run.cpu_ms_per_turn:>11.2f}  "
            f"{run.stack_busy:>22.0%}  {run.box_busy:>7.0%}"
        )
    first_text_rows = [
        Row(
            f"{run.workers} worker(s): POST -> first text-delta",
            run.first_text_s,
            FIRST_TEXT_GOALS_MS if run.workers == CRASH_WORKERS else {},
        )
        for run in runs
    ]
    lines = [
        "",
        "turnflow scaling with workers (bench/scale.py; goals from bench/README.md)",
        describe_machine(load_before),
        f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)",
        "stack: one API process, tuned Temporal dev server, PostgreSQL, the worker count below; the stand-in model "
        "and every client run in the benchmark process",
        "",
        f"offered load, the same for every worker count: {senders} concurrent senders for {seconds:g} s (a turn "
        f"under way then is read to its end), each in its own warm session, each turn a new chat answering {words} "
        f"words {DELAY_MS:g} ms apart; as each sender waits for its answer, the most they can offer is "
        f"{senders / (words * DELAY_MS / 1000):.0f} turns/s (the model alone takes {words * DELAY_MS:g} ms a turn)",
        *summary,
        "  (CPU ms/turn: the stack's processes above their rest; stack CPU: the same over the run, the benchmark's "
        "own included; box CPU: every process on the box, other work's too)",
        *growth_lines(runs),
        "",
        *table_lines(first_text_rows),
    ]
    for run in runs:
        lines += [
            "",
            f"{run.workers} worker(s): CPU over the run (at rest: the {REST_S:g} s before it); "
            f"turns whose text was not exactly the model's: {run.throughput.inexact}, "
            f"whose model step was retried: {run.throughput.retried}",
            *run.throughput.cpu.lines(len(run.throughput.samples), "turn"),
        ]
    lines += [
        "",
        f"crash: {len(crashes)} turns on {CRASH_WORKERS} workers; the one streaming is killed (SIGKILL) after "
        f"{DELTAS_BEFORE_KILL} of {CRASH_WORDS} deltas and a fresh worker started once streaming has resumed",
        *table_lines(crash_rows(crashes)),
        *crash_checks(crashes),
    ]
    print("\n".join(lines), flush=True)


def growth_lines(runs: Sequence[ScaleRun]) -> list[str]:
    """Each step up in workers against the goal: the rate grew, or the box's cores were already spent before it."""
    lines = []
    for before, after in itertools.pairwise(runs):
        ratio = after.throughput.turns_per_s / before.throughput.turns_per_s
        step = (
            f"  {before.workers} -> {after.workers} workers: turns/s x{ratio:.2f}; before the step the box's cores "
            f"were {before.box_busy:.0%} busy, {before.stack_busy:.0%} with this stack"
        )
        if after.workers > before.workers:
            met = ratio >= GROWTH or before.box_busy >= CORES_SPENT
            step += f"  goal: grows until the CPU is spent: {'met' if met else 'MISSED'}"
        lines.append(step)
    return lines


def _worker_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of worker counts, each at least 1, such as 1,2,4")
    return counts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=_worker_counts, default=[1, 2, 4], help="worker counts to run, in order (default 1,2,4)"
    )
    parser.add_argument("--senders", type=int, default=30, help="concurrent senders (default 30)")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long they send per worker count (default 15)")
    parser.add_argument(
        "--words", type=int, default=20, help=f"words per sent turn, {DELAY_MS:g} ms apart (default 20)"
    )
    parser.add_argument("--kills", type=int, default=20, help=f"worker kills on {CRASH_WORKERS} workers (default 20)")
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.senders < 1 or args.seconds <= 0 or args.words < 1 or args.kills < 2:
        raise SystemExit("--senders and --words must be at least 1, --seconds above 0, --kills at least 2")
    run_benchmark(lambda: measure(args.workers, args.senders, args.seconds, args.words, args.kills))


if __name__ == "__main__":
    main()
