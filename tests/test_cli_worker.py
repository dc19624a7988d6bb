"""`turnflow worker` fails closed: a real process on a machine without bubblewrap refuses to start, unless plain
processes are asked for by name."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.missing_programs import path_without

START_DEADLINE_S = 60.0
READY = "worker polling task queue"


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURNFLOW_")}
    return env | {"PATH": path_without("bwrap", tmp_path / "bin"), "TURNFLOW_DATA_DIR": str(tmp_path)} | settings


@pytest.mark.parametrize("wanted", [None, "auto", "bubblewrap"])
def test_without_bubblewrap_the_worker_refuses_to_start(tmp_path: Path, wanted: str | None) -> None:
    env = _env(
        tmp_path,
        # Nothing answers there: a worker that got past the sandbox check would say it cannot reach Temporal.
        TURNFLOW_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:9/none",
        TURNFLOW_TEMPORAL_ADDRESS="127.0.0.1:9",
        **({"TURNFLOW_SANDBOX_PROVIDER": wanted} if wanted else {}),
    )
    result = subprocess.run(
        [sys.executable, "-m", "turnflow.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("turnflow: bubblewrap (bwrap) is not installed"), result.stderr
    assert "TURNFLOW_SANDBOX_PROVIDER=process" in message
    assert "Temporal" not in result.stderr, "it refused before connecting to anything"


async def test_asked_by_name_the_worker_runs_commands_unisolated_and_says_so(
    tmp_path: Path, temporal_env: WorkflowEnvironment, database_url: str
) -> None:
    env = _env(
        tmp_path,
        TURNFLOW_DATABASE_URL=database_url,
        TURNFLOW_TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
        TURNFLOW_TASK_QUEUE=f"unisolated-{uuid.uuid4().hex[:8]}",
        TURNFLOW_SANDBOX_PROVIDER="process",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "turnflow.cli", "worker", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        log = await _read_until(proc, READY)
        assert "UNISOLATED" in log and "WARNING" in log, log
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), START_DEADLINE_S) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _read_until(proc: asyncio.subprocess.Process, marker: str) -> str:
    assert proc.stderr is not None
    seen: list[str] = []
    give_up_at = time.monotonic() + START_DEADLINE_S
    while marker not in (seen[-1] if seen else ""):
        line = await asyncio.wait_for(proc.stderr.readline(), max(0.0, give_up_at - time.monotonic()))
        if not line:
            raise AssertionError(f"exited with {await proc.wait()} before {marker!r}:\n{''.join(seen)}")
        seen.append(line.decode())
    return "".join(seen)
