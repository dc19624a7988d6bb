"""Finding the mounts a test run made, so none outlives it."""

from __future__ import annotations

from pathlib import Path


def mounts_under(directory: Path) -> list[Path]:
    """Mount points below `directory`, deepest first (so each can be unmounted in turn)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # The mount point is the fifth field, with spaces and the like written as octal escapes.
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if point.is_relative_to(directory) and point != directory:
            found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)
