"""Progress of a long import: a live bar with counts and rate on a terminal, nothing otherwise (the summary line
says it all when the output goes to a file or a CI log)."""

from __future__ import annotations

from typing import Protocol

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ImportProgress(Protocol):
    def start(self, total_chats: int) -> None: ...
    def advance(self, chats: int, messages: int) -> None: ...
    def stop(self) -> None: ...


class SilentProgress:
    def start(self, total_chats: int) -> None:
        pass

    def advance(self, chats: int, messages: int) -> None:
        pass

    def stop(self) -> None:
        pass


class TerminalProgress:
    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("[bold]importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("chats · {task.fields[messages]} messages · {task.fields[rate]} chats/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self._task = self._bar.add_task("import", total=None, messages=0, rate=0)
        self._messages = 0

    def start(self, total_chats: int) -> None:
        self._bar.update(self._task, total=total_chats)
        self._bar.start()

    def advance(self, chats: int, messages: int) -> None:
        self._messages += messages
        self._bar.advance(self._task, chats)
        speed = self._bar.tasks[0].speed or 0
        self._bar.update(self._task, messages=self._messages, rate=f"{speed:.0f}")

    def stop(self) -> None:
        self._bar.stop()
