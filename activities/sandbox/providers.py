"""Chooses the sandbox provider: bubblewrap when it is there, plain processes (with a loud warning) when not."""

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
    "bubblewrap (bwrap) is not installed: agent commands run UNISOLATED, with this worker's file access. "
    "Install it (apt-get install bubblewrap) before running turnflow anywhere but your own laptop."
)


def choose_provider(settings: Settings) -> SandboxProvider:
    wanted = settings.sandbox_provider
    if wanted == "bubblewrap" or (wanted == "auto" and shutil.which("bwrap")):
        if not shutil.which("bwrap"):
            raise RuntimeError("TURNFLOW_SANDBOX_PROVIDER=bubblewrap but bwrap is not installed")
        return BubblewrapProvider()
    if wanted == "auto":
        _log.warning(UNISOLATED_WARNING)
    return UnisolatedProvider(dict(os.environ))
