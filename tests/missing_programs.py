"""A PATH on which one program is missing: how a test runs real commands as on a machine without it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def path_without(program: str, into: Path) -> str:
    """A directory of links to every program on PATH but `program`, first match winning as a shell would."""
    into.mkdir(parents=True, exist_ok=True)
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = into / entry.name
            if entry.name != program and not link.exists() and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    assert shutil.which(program, path=str(into)) is None
    return str(into)
