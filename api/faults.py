"""Fault points for crash tests: with TURNFLOW_FAULT_POINT=<name> set, the process dies (SIGKILL: no cleanup, no
response) on reaching that point, so a test can kill it at exactly the moment it means to."""

from __future__ import annotations

import os
import signal

FAULT_POINT_ENV = "TURNFLOW_FAULT_POINT"
# Between committing a send and starting its workflow.
SEND_COMMITTED = "send-committed"


def crash_point(name: str) -> None:
    if os.environ.get(FAULT_POINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
