"""read_file, write_file and list_files, confined to the session's workspace."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import Field

from activities.sandbox.base import Sandbox
from activities.tools.base import Tool, ToolContext, ToolFailure, ToolInput

MAX_READ_BYTES = 256 * 1024
MAX_WRITE_BYTES = 1024 * 1024
MAX_LISTED = 500
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _outside(relative: str) -> ToolFailure:
    return ToolFailure(f"{relative!r} is outside the workspace (absolute, with '..', or through a link)")


def _open_parent(workspace: Path, relative: str, sandbox: Sandbox | None) -> tuple[int, str]:
    """A descriptor of the path's directory and its last name, walked one component at a time with O_NOFOLLOW.

    No symlink is followed anywhere, so a command racing to swap a directory for a link cannot lead a file tool
    (which runs as the worker) out of the workspace. With a sandbox, missing directories are created for it.
    """
    parts = PurePosixPath(relative).parts
    if (parts and parts[0] == "/") or ".." in parts:
        raise _outside(relative)
    names = [p for p in parts if p != "."]
    fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY)
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
            except (NotADirectoryError, OSError) as exc:
                raise _outside(relative) from exc
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd, names[-1] if names else "."


def _open_in(workspace: Path, relative: str, flags: int, sandbox: Sandbox | None = None) -> int:
    parent, name = _open_parent(workspace, relative, sandbox)
    try:
        return os.open(name, flags | os.O_NOFOLLOW, 0o644, dir_fd=parent)
    except FileNotFoundError:
        raise ToolFailure(f"no file {relative!r}") from None
    except IsADirectoryError:
        raise ToolFailure(f"{relative!r} is a directory") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _outside(relative) from exc
        raise
    finally:
        os.close(parent)


class ReadFileInput(ToolInput):
    path: str = Field(min_length=1, max_length=1024, description="Path relative to the workspace")


class WriteFileInput(ToolInput):
    path: str = Field(min_length=1, max_length=1024, description="Path relative to the workspace")
    content: str = Field(max_length=MAX_WRITE_BYTES, description="The whole new content of the file")


class ListFilesInput(ToolInput):
    path: str = Field(".", max_length=1024, description="Directory relative to the workspace")


async def _read_file(context: ToolContext, params: ReadFileInput) -> dict[str, Any]:
    data = await asyncio.to_thread(_read_prefix, context.sandbox.workspace, params.path)
    return {"path": params.path, "content": data.decode(errors="replace"), "truncated": len(data) == MAX_READ_BYTES}


def _read_prefix(workspace: Path, relative: str) -> bytes:
    fd = _open_in(workspace, relative, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ToolFailure(f"{relative!r} is not a regular file")
        return handle.read(MAX_READ_BYTES)


async def _write_file(context: ToolContext, params: WriteFileInput) -> dict[str, Any]:
    await asyncio.to_thread(_write, context.sandbox, params.path, params.content)
    return {"path": params.path, "bytes": len(params.content.encode())}


def _write(sandbox: Sandbox, relative: str, content: str) -> None:
    fd = _open_in(sandbox.workspace, relative, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, sandbox)
    with os.fdopen(fd, "w") as handle:
        sandbox.adopt(handle.fileno())
        handle.write(content)


async def _list_files(context: ToolContext, params: ListFilesInput) -> dict[str, Any]:
    entries = await asyncio.to_thread(_list, context.sandbox.workspace, params.path)
    return {"path": params.path, "entries": entries}


def _list(workspace: Path, relative: str) -> list[dict[str, str]]:
    fd = _open_in(workspace, relative, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(fd) as listing:
            names = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in listing)
    finally:
        os.close(fd)
    return [{"name": name, "type": "dir" if is_dir else "file"} for name, is_dir in names[:MAX_LISTED]]


READ_FILE = Tool(
    "read_file",
    "Read a text file from the workspace (first 256 KiB).",
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
    "List a directory of the workspace.",
    ListFilesInput,
    _list_files,
    idempotent=True,
)
