"""`turnflow dev` end to end: the whole local stack in child processes, driven the way a developer drives it."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from activities.sandbox.snapshot_store import S3SnapshotStore
from activities.sandbox.snapshots import read_manifest
from models.settings import Settings
from tests.missing_programs import path_without

START_DEADLINE_S = 120.0
STOP_DEADLINE_S = 30.0
BANNER_END = "Ctrl-C to stop"


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _free_temporal_port() -> int:
    """A free port whose UI port (+1000) is free as well."""
    for _ in range(100):
        port = _free_port()
        if port + 1000 <= 65535 and _is_free(port + 1000):
            return port
    raise AssertionError("no free port pair for Temporal and its UI")


@dataclass
class Ports:
    api: int = field(default_factory=_free_port)
    temporal: int = field(default_factory=_free_temporal_port)

    @property
    def ui(self) -> int:
        return self.temporal + 1000


@dataclass
class DevRun:
    """A running `turnflow dev`; its merged output is read on a thread so the child never blocks on a full pipe."""

    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def read_until(self, marker: str, deadline_s: float = START_DEADLINE_S) -> str:
        """Everything printed up to the line containing `marker`."""
        give_up_at = time.monotonic() + deadline_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, give_up_at - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {marker!r} within {deadline_s:g} s:\n{self.text}") from None
            if line is None:
                raise AssertionError(f"exited with {self.proc.wait()} before {marker!r}:\n{self.text}")
            self.output.append(line)
            if marker in line:
                return self.text

    def interrupt(self) -> int:
        """Ctrl-C, as a developer presses it; returns the exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {STOP_DEADLINE_S:g} s after Ctrl-C:\n{self.text}") from None
        self._drain()
        return code

    def _drain(self) -> None:
        while (line := self._lines.get(timeout=STOP_DEADLINE_S)) is not None:
            self.output.append(line)

    @property
    def text(self) -> str:
        return "".join(self.output)


def _dev_command(data_dir: Path, ports: Ports, workers: int = 1, extra: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "turnflow.cli",
        "dev",
        "--workers",
        str(workers),
        "--port",
        str(ports.api),
        "--temporal-port",
        str(ports.temporal),
        "--data-dir",
        str(data_dir),
        *extra,
    ]


@contextmanager
def turnflow_dev(
    data_dir: Path, ports: Ports, env: Mapping[str, str] | None = None, extra: Sequence[str] = ()
) -> Iterator[DevRun]:
    proc = subprocess.Popen(
        _dev_command(data_dir, ports, extra=extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=env,
    )
    try:
        yield DevRun(proc)
    finally:
        if proc.poll() is None:  # a failed test must not leave a stack behind
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for leftover in _processes_mentioning(data_dir):
                leftover.kill()


def _processes_mentioning(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if str(data_dir) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def _assert_nothing_left(data_dir: Path) -> None:
    """Polls briefly: the kernel may list an exiting process for a moment after its parent saw it stop."""
    give_up_at = time.monotonic() + 5
    while (left := _processes_mentioning(data_dir)) and time.monotonic() < give_up_at:
        time.sleep(0.05)
    assert not left, [" ".join(p.cmdline()) for p in left]


def _answers_within(http: httpx.Client, url: str, deadline_s: float) -> bool:
    give_up_at = time.monotonic() + deadline_s
    while time.monotonic() < give_up_at:
        try:
            if http.get(url).status_code == 200:
                return True
        except httpx.ConnectError:
            pass
        time.sleep(0.1)
    return False


def _banner_key(text: str) -> str:
    match = re.search(r"API key\s+(tf_\S+)", text)
    assert match, text
    return match.group(1)


@pytest.mark.slow
def test_dev_serves_api_and_temporal_ui_then_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    ports = Ports()
    with turnflow_dev(data_dir, ports) as dev:
        banner = dev.read_until(BANNER_END)
        key = _banner_key(banner)
        api = f"http://127.0.0.1:{ports.api}"
        assert f"{api}/docs" in banner
        assert f"http://127.0.0.1:{ports.ui}" in banner
        token = re.search(rf"{re.escape(api)}/#token=(tfb_\S+)", banner)
        assert token, "the ready-to-open address signs in with a browser token, not the API key"

        with httpx.Client(base_url=api, trust_env=False, timeout=10) as http:
            assert http.get("/sessions", headers={"Authorization": f"Bearer {key}"}).status_code == 200
            as_user = http.post("/sessions", json={}, headers={"Authorization": f"Bearer {token.group(1)}"})
            assert as_user.status_code == 201, as_user.text
            assert http.get("/sessions").status_code == 401
            app_page = http.get("/", headers={"Accept": "text/html"})
            assert app_page.status_code == 200 and '<div id="root">' in app_page.text
        with httpx.Client(trust_env=False, timeout=10) as http:
            assert http.get(f"http://127.0.0.1:{ports.ui}/").status_code == 200
            for url in (f"{api}/metrics", f"http://127.0.0.1:{ports.api + 1000}/metrics"):
                assert url in banner
                assert _answers_within(http, url, START_DEADLINE_S), url  # the worker may still be starting

        key_file = data_dir / "dev-api-key"
        assert key_file.read_text().strip() == key
        assert key_file.stat().st_mode & 0o777 == 0o600
        stack = json.loads((data_dir / "stack.json").read_text())
        assert stack["temporal_address"] == f"127.0.0.1:{ports.temporal}"
        assert stack["api_url"] == api
        assert stack["database_url"].startswith("postgresql+asyncpg://")

        assert dev.interrupt() == 0, dev.text
    _assert_nothing_left(data_dir)
    assert not (data_dir / "stack.json").exists()


@pytest.mark.slow
def test_object_store_keeps_a_turns_files_in_seaweedfs(tmp_path: Path) -> None:
    """`--object-store`: SeaweedFS under the data dir, named in stack.json for whoever joins by `--data-dir`, and
    the workers' snapshots in it."""
    data_dir = tmp_path / "stack"
    ports = Ports()
    with turnflow_dev(data_dir, ports, extra=["--object-store"]) as dev:
        banner = dev.read_until(BANNER_END)
        key = _banner_key(banner)
        location = Settings(data_dir=data_dir).resolved_snapshot_store()  # as `turnflow worker --data-dir` reads it
        assert location.is_s3 and f"{location.url} at {location.endpoint_url} (SeaweedFS)" in banner
        chat_id = f"chat-{os.urandom(6).hex()}"
        body = {
            "id": chat_id,
            "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "/file notes.txt kept"}]}],
            "trigger": "submit-message",
        }
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{ports.api}", headers=headers, trust_env=False, timeout=60
        ) as http:
            with http.stream("POST", "/chat/workflow", json=body) as response:
                assert response.status_code == 200
                assert "data: [DONE]" in response.read().decode()
            session_id = http.get(f"/chats/{chat_id}").json()["sessionId"]
        manifest = read_manifest(S3SnapshotStore(location), session_id)
        assert manifest is not None and manifest.files["notes.txt"].size == len("kept")
        assert dev.interrupt() == 0, dev.text
    _assert_nothing_left(data_dir)


@pytest.mark.slow
def test_second_run_on_the_same_data_dir_keeps_data_and_dev_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    with turnflow_dev(data_dir, Ports()) as first:
        key = _banner_key(first.read_until(BANNER_END))
        assert first.interrupt() == 0, first.text

    ports = Ports()
    with turnflow_dev(data_dir, ports) as second:
        banner = second.read_until(BANNER_END)
        assert _banner_key(banner) == key
        assert "schema already at revision" in banner
        with httpx.Client(trust_env=False, timeout=10) as http:
            response = http.get(f"http://127.0.0.1:{ports.api}/sessions", headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200
        assert second.interrupt() == 0, second.text
    _assert_nothing_left(data_dir)


@pytest.mark.slow
def test_without_bubblewrap_dev_falls_back_to_unisolated_workers_loudly(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURNFLOW_")}
    env["PATH"] = path_without("bwrap", tmp_path / "bin")
    with turnflow_dev(data_dir, Ports(), env) as dev:
        banner = dev.read_until(BANNER_END)
        warning = "WARNING: agent commands run UNISOLATED"
        assert banner.count(warning) == 2, "said when the workers start and again in the banner"
        workers = [p for p in psutil.Process(dev.proc.pid).children() if "worker" in p.cmdline()]
        assert len(workers) == 1 and workers[0].is_running()
        assert workers[0].environ()["TURNFLOW_SANDBOX_PROVIDER"] == "process", "asked for by name, not assumed"
        assert dev.interrupt() == 0, dev.text
    _assert_nothing_left(data_dir)


@pytest.mark.parametrize(
    ("taken", "flag"), [("api", "--port"), ("temporal", "--temporal-port"), ("ui", "--temporal-port")]
)
def test_taken_port_exits_2_naming_port_and_flag(tmp_path: Path, taken: str, flag: str) -> None:
    ports = Ports()
    port = getattr(ports, taken)
    data_dir = tmp_path / "stack"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = subprocess.run(_dev_command(data_dir, ports), check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert str(port) in message and flag in message
    assert not data_dir.exists()  # nothing was started
