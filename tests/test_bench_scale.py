"""The scaling benchmark measures what it claims on a real stack, with tiny numbers (its timings are never asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.retry_causes import RETRY_PATHS
from bench.scale import CRASH_WORKERS, report, run_phases
from bench.stack import BenchStack

pytestmark = pytest.mark.slow


async def test_scale_phases_give_well_formed_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with BenchStack(tmp_path, workers=1, worker_env={"TURNFLOW_LOG_LEVEL": "error"}) as stack:
        runs, crashes = await run_phases(stack, workers=[1, 2], senders=2, seconds=1.0, words=3, kills=2)
        assert len(stack.workers) == CRASH_WORKERS, "every killed worker was replaced"

    assert [run.workers for run in runs] == [1, 2]
    for run in runs:
        assert len(run.throughput.samples) >= 2 and run.throughput.turns_per_s > 0
        assert run.throughput.inexact == 0, "every turn's text reached its sender exactly"
        workers = [name for name in run.throughput.cpu.seconds if name.startswith("worker ")]
        assert len(workers) == run.workers, "each worker's CPU on its own"
        assert len(run.throughput.cpu.seconds) == 4 + run.workers
    assert len(crashes) == 2
    for crash in crashes:
        assert crash.repeated_words == 0 and crash.missing_words == 0 and crash.exact
        assert 0 < crash.retry_requested_s <= crash.resumed_s
        assert crash.retry_path in RETRY_PATHS.values()

    report(runs, crashes, senders=2, seconds=1.0, words=3, load_before=0.0)
    printed = capsys.readouterr().out
    for row in ("1 worker(s): POST -> first text-delta", "2 worker(s): POST -> first text-delta", "1 -> 2 workers:"):
        assert row in printed
    assert "kill -9 -> next text-delta at the client" in printed
    assert "turns with a repeated word: 0 (goal 0)" in printed
    assert "turns with a lost word: 0 (goal 0)" in printed
    assert printed.count("at that cost the") == 2, "each run's CPU per process"
