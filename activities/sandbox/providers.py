"""Chooses the sandbox provider. Fails closed: without bubblewrap a worker refuses to start, unless plain processes
were asked for by name (`turnflow dev` asks for them, loudly, on a machine without bubblewrap)."""

from __future__ import annotations

import logging
import os
import shutil

from activities.sandbox.base import SandboxProvider
from activities.sandbox.bubblewrap import BubblewrapProvider
from activities.sandbox.unisolated import UnisolatedProvider
from models.settings import Settings

_log = logging.getLogger("turnflow.sandbox")
UNISOLATED_WARNING = (
    "agent commands run UNISOLATED (TURNFLOW_SANDBOX_PROVIDER=process), as this worker's user with its file "
    "access. Install bubblewrap (apt-get install bubblewrap) before running turnflow anywhere but your own laptop."
)


class SandboxUnavailable(RuntimeError):
    """No isolated sandbox here and none other was asked for: the worker must not start."""


def bubblewrap_installed() -> bool:
    return shutil.which("bwrap") is not None


def choose_provider(settings: Settings) -> SandboxProvider:
    if settings.sandbox_provider == "process":
        _log.warning(UNISOLATED_WARNING)
        return UnisolatedProvider(dict(os.environ), settings)
    if not bubblewrap_installed():
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, and a worker does not run agent commands unisolated: install it "
            "(apt-get install bubblewrap), or set TURNFLOW_SANDBOX_PROVIDER=process to run them as plain processes "
            "(development only; they can read everything this worker can)"
        )
    return BubblewrapProvider(settings)
