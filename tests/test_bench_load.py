"""The load benchmark measures what it claims on a real stack, with tiny numbers (its timings are never asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import report, run_phases
from bench.stack import BenchStack

pytestmark = pytest.mark.slow


async def test_load_phases_give_well_formed_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with BenchStack(tmp_path, workers=2, worker_env={"TURNFLOW_LOG_LEVEL": "error"}) as stack:
        throughput, fanout = await run_phases(
            stack, turns=3, senders=2, watchers=5, live_turns=2, words=3, window_s=1.0
        )

    assert len(throughput.samples) == 3
    assert throughput.turns_per_s > 0
    for sample in throughput.samples:
        assert sample.sent_at < sample.model_started <= sample.first_delta_received
        assert len(sample.delivery_s) == 3 and all(d > 0 for d in sample.delivery_s)
    assert len(throughput.unrelated_s) >= 2

    assert fanout.broken == 0, "every viewer saw each word after its resume point once, then abort and [DONE]"
    assert len(fanout.connect_s) == 5
    assert fanout.first_viewer_s and len(fanout.delivery_s) >= len(fanout.first_viewer_s)
    assert all(0 < first <= last for first, last in zip(fanout.first_viewer_s, fanout.last_viewer_s, strict=True))
    assert fanout.rss_idle > 0 and fanout.rss_watched > 0
    assert len(fanout.unrelated_s) >= 2
    for cpu in (throughput.cpu, fanout.cpu):
        assert cpu.wall_s > 0 and len(cpu.seconds) == 5 and all(used >= 0 for used in cpu.seconds.values())
    assert cpu.seconds["API"] > 0, "the API served the viewers"

    report(throughput, fanout, senders=2, words=3, load_before=0.0)
    printed = capsys.readouterr().out
    for figure in ("turns/s:", "first text:", "API memory per stream:", "delta delivery to every viewer", "CPU over"):
        assert figure in printed
    assert printed.count("unrelated GET /sessions meanwhile") == 2
