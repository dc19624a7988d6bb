"""The one error type the CLI turns into a one-line message and an exit code."""

from __future__ import annotations

# Nothing was started: a port or the data dir is held by something else.
EXIT_CONFLICT = 2


class CommandError(Exception):
    """Something the user can fix; the message says how. Never shown with a traceback."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
