"""The Temporal dev server as turnflow runs it: tuned for latency, with turnflow's search attributes registered."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from models.names import SEARCH_ATTRIBUTES
from turnflow.bundled_programs import find_bundled

# The defaults add about 50 ms per hop (a 3-activity turn measured 200 ms; 35 ms with these). A timer (a retry's
# backoff among them) never fires sooner than the timer queue's time shift after it is set: 1 s by default, so a
# model step retried after a crash with a 100 ms backoff started up to a second later; 10 ms here.
DEV_SERVER_FLAGS: tuple[str, ...] = (
    "--sqlite-pragma",
    "journal_mode=WAL",
    "--sqlite-pragma",
    "synchronous=NORMAL",
    "--dynamic-config-value",
    "history.transferProcessorMaxPollRPS=1000",
    "--dynamic-config-value",
    "system.enableActivityEagerExecution=true",
    "--dynamic-config-value",
    'history.timerProcessorMaxTimeShift="10ms"',
    *(flag for name in SEARCH_ATTRIBUTES for flag in ("--search-attribute", f"{name}=Keyword")),
)


def find_temporal_cli() -> Path:
    return find_bundled("temporal", "the temporal CLI")


def dev_server_argv(*, db_file: Path, port: int, ui_port: int, namespace: str) -> list[str]:
    argv = [
        str(find_temporal_cli()),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--ip",
        "127.0.0.1",
        *DEV_SERVER_FLAGS,
        "--log-level",
        "warn",
    ]
    if namespace != "default":  # "default" always exists; any other must be created at launch
        argv += ["--namespace", namespace]
    return argv


async def try_connect(address: str, namespace: str) -> Client | None:
    """A client if the server answers now, else None (the SDK fails fast while the port is closed)."""
    try:
        return await Client.connect(address, namespace=namespace)
    except RuntimeError:
        return None
