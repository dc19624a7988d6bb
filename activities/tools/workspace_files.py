"""read_file, write_file and list_files, confined to the session's workspace.

Whatever a command leaves there (links, FIFOs, devices, sockets, huge files, directories of many names), the file
tools open only regular files and directories inside it, never block on a special file, and run on the sandbox's own
bounded threads with a time limit, so a hostile workspace can fail its own calls but never stall anyone else's.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import heapq
import itertools
import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn, TypeVar

from pydantic import Field

from activities.sandbox.base import Sandbox, SandboxLimitReached
from activities.tools.base import Tool, ToolContext, ToolFailure, ToolInput

T = TypeVar("T")
READ_BYTES = 64 * 1024
# A part's content, JSON-encoded, leaves room in the tool's output, which the tool-call activity caps.
READ_CONTENT_CHARS = 80_000
MAX_WRITE_BYTES = 1024 * 1024
MAX_LISTED = 500
# A directory of millions of names is listed from its first entries, not read whole.
MAX_SCANNED = 20_000
# Never follow a link, never wait for the other end of a FIFO, never take a terminal.
_SAFE = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | _SAFE
_SPECIAL = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def _outside(relative: str) -> ToolFailure:
    return ToolFailure(f"{relative!r} is outside the workspace (absolute, with '..', or through a link)")


def _not_directory(relative: str) -> ToolFailure:
    return ToolFailure(f"{relative!r} is not a directory (or has a file where a directory should be)")


def _check_kind(relative: str, mode: int, directory: bool) -> None:
    """Only a regular file or a directory, whichever the tool wants; anything else is refused before it is used."""
    if stat.S_ISDIR(mode) if directory else stat.S_ISREG(mode):
        return
    if stat.S_ISLNK(mode):
        raise _outside(relative)
    if stat.S_ISDIR(mode):
        raise ToolFailure(f"{relative!r} is a directory")
    if stat.S_ISREG(mode):
        raise _not_directory(relative)
    kind = _SPECIAL.get(stat.S_IFMT(mode), "not a regular file")
    raise ToolFailure(f"{relative!r} is {kind}; file tools only open regular files and directories")


def _raise_walk_failure(relative: str, exc: OSError) -> NoReturn:
    if exc.errno == errno.ELOOP:
        raise _outside(relative) from exc
    if exc.errno == errno.ENOTDIR:
        raise _not_directory(relative) from exc
    raise exc


def _open_parent(workspace: Path, relative: str, sandbox: Sandbox | None) -> tuple[int, str]:
    """A descriptor of the path's directory and its last name, walked one component at a time with O_NOFOLLOW.

    No symlink is followed anywhere, so a command racing to swap a directory for a link cannot lead a file tool
    (which runs as the worker) out of the workspace. With a sandbox, missing directories are created for it.
    """
    parts = PurePosixPath(relative).parts
    if (parts and parts[0] == "/") or ".." in parts:
        raise _outside(relative)
    names = [p for p in parts if p != "."]
    fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in names[:-1]:
            try:
                child = os.open(name, _DIRECTORY, dir_fd=fd)
            except FileNotFoundError:
                if sandbox is None:
                    raise ToolFailure(f"no directory {relative!r}") from None
                os.mkdir(name, 0o755, dir_fd=fd)
                child = os.open(name, _DIRECTORY, dir_fd=fd)
                sandbox.adopt(child)
            except OSError:
                # Says what is in the way (a link, a file, a FIFO); a directory again means a race: the error stands.
                _check_kind(relative, os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode, directory=True)
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd, names[-1] if names else "."


def _existing_mode(relative: str, parent: int, name: str, directory: bool) -> int | None:
    """The entry's mode, once it is known to be of the wanted kind; None when there is none. Looked at before
    anything is opened: opening a device can act on it."""
    try:
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None
    _check_kind(relative, mode, directory)
    return mode


def _open_in(workspace: Path, relative: str, directory: bool = False) -> int:
    """Opens a regular file (or a directory) of the workspace for reading; anything else is refused."""
    parent, name = _open_parent(workspace, relative, None)
    try:
        if _existing_mode(relative, parent, name, directory) is None:
            raise ToolFailure(f"no {'directory' if directory else 'file'} {relative!r}")
        fd = os.open(name, os.O_RDONLY | (os.O_DIRECTORY if directory else 0) | _SAFE, dir_fd=parent)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket swapped in since the check
            raise ToolFailure(f"{relative!r} is not a regular file") from None
        _raise_walk_failure(relative, exc)
    finally:
        os.close(parent)
    try:
        _check_kind(relative, os.fstat(fd).st_mode, directory)  # again: it may have been swapped since
    except BaseException:
        os.close(fd)
        raise
    return fd


async def _in_workspace(context: ToolContext, operation: Callable[[], T]) -> T:
    try:
        return await context.sandbox.run_file_operation(operation)
    except SandboxLimitReached as exc:
        raise ToolFailure(str(exc)) from None


class ReadFileInput(ToolInput):
    path: str = Field(min_length=1, max_length=1024, description="Path relative to the workspace")
    offset: int = Field(0, ge=0, description="Byte to start at: the nextOffset of a part that was cut")


class WriteFileInput(ToolInput):
    path: str = Field(min_length=1, max_length=1024, description="Path relative to the workspace")
    content: str = Field(max_length=MAX_WRITE_BYTES, description="The whole new content of the file")


class ListFilesInput(ToolInput):
    path: str = Field(".", max_length=1024, description="Directory relative to the workspace")


async def _read_file(context: ToolContext, params: ReadFileInput) -> dict[str, Any]:
    return await _in_workspace(
        context, functools.partial(_read_part, context.sandbox.workspace, params.path, params.offset)
    )


def _read_part(workspace: Path, relative: str, offset: int) -> dict[str, Any]:
    fd = _open_in(workspace, relative)
    try:
        size = os.fstat(fd).st_size
        data = os.pread(fd, READ_BYTES, offset)
    finally:
        os.close(fd)
    content, kept = _fit(data, cut=offset + len(data) < size)
    part: dict[str, Any] = {"path": relative, "content": content, "size": size, "truncated": offset + kept < size}
    if part["truncated"]:
        part["nextOffset"] = offset + kept
    return part


def _fit(data: bytes, cut: bool) -> tuple[str, int]:
    """The text of as much of `data` as fits the content budget once JSON-encoded, and how many bytes that is."""
    while True:
        if cut:
            data = _whole_characters(data)
        text = data.decode(errors="replace")
        encoded = len(json.dumps(text))
        if encoded <= READ_CONTENT_CHARS:
            return text, len(data)
        data, cut = data[: len(data) * READ_CONTENT_CHARS // encoded], True


def _whole_characters(data: bytes) -> bytes:
    """Drops a UTF-8 sequence the cut split, so this part ends and the next begins on a whole character."""
    for back in range(1, min(4, len(data)) + 1):
        lead = data[-back]
        if lead & 0xC0 != 0x80:  # not a continuation byte: the last sequence starts here
            length = 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            return data if back >= length or back == len(data) else data[:-back]
    return data


async def _write_file(context: ToolContext, params: WriteFileInput) -> dict[str, Any]:
    await _in_workspace(context, functools.partial(_write, context.sandbox, params.path, params.content))
    return {"path": params.path, "bytes": len(params.content.encode())}


def _write(sandbox: Sandbox, relative: str, content: str) -> None:
    """Written beside the file and renamed over it, so a full disk never leaves it half-written."""
    parent, name = _open_parent(sandbox.workspace, relative, sandbox)
    partial = f".turnflow-write-{secrets.token_hex(8)}"
    try:
        mode = _existing_mode(relative, parent, name, directory=False)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE, 0o600, dir_fd=parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            sandbox.adopt(handle.fileno())
            os.fchmod(handle.fileno(), stat.S_IMODE(mode) if mode is not None else 0o644)  # a script stays runnable
            handle.write(content)
        os.rename(partial, name, src_dir_fd=parent, dst_dir_fd=parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial, dir_fd=parent)
        raise
    finally:
        os.close(parent)


async def _list_files(context: ToolContext, params: ListFilesInput) -> dict[str, Any]:
    return await _in_workspace(context, functools.partial(_list, context.sandbox.workspace, params.path))


def _list(workspace: Path, relative: str) -> dict[str, Any]:
    fd = _open_in(workspace, relative, directory=True)
    try:
        with os.scandir(fd) as listing:
            seen = [(entry.name, _entry_type(entry)) for entry in itertools.islice(listing, MAX_SCANNED)]
    finally:
        os.close(fd)
    entries = [{"name": name, "type": kind} for name, kind in heapq.nsmallest(MAX_LISTED, seen)]
    return {"path": relative, "entries": entries, "truncated": len(seen) > MAX_LISTED}


def _entry_type(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "link"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    return "file" if entry.is_file(follow_symlinks=False) else "other"


READ_FILE = Tool(
    "read_file",
    "Read a text file from the workspace, in parts of up to 64 KiB: when a part is cut (truncated), call again "
    "with its nextOffset for the next.",
    ReadFileInput,
    _read_file,
    idempotent=True,
)
WRITE_FILE = Tool(
    "write_file",
    "Create or overwrite a text file in the workspace.",
    WriteFileInput,
    _write_file,
    idempotent=True,
)
LIST_FILES = Tool(
    "list_files",
    f"List a directory of the workspace (up to {MAX_LISTED} names; truncated when it holds more).",
    ListFilesInput,
    _list_files,
    idempotent=True,
)
