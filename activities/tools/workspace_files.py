"""read_file, write_file and list_files, confined to the session's workspace."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field

from activities.tools.base import Tool, ToolContext, ToolFailure, ToolInput

MAX_READ_BYTES = 256 * 1024
MAX_WRITE_BYTES = 1024 * 1024
MAX_LISTED = 500


def resolve_inside(workspace: Path, relative: str) -> Path:
    """The path inside the workspace, refusing `..`, absolute paths and symlinks that lead out."""
    root = workspace.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ToolFailure(f"{relative!r} is outside the workspace")
    return target


class ReadFileInput(ToolInput):
    path: str = Field(min_length=1, max_length=1024, description="Path relative to the workspace")


class WriteFileInput(ToolInput):
    path: str = Field(min_length=1, max_length=1024, description="Path relative to the workspace")
    content: str = Field(max_length=MAX_WRITE_BYTES, description="The whole new content of the file")


class ListFilesInput(ToolInput):
    path: str = Field(".", max_length=1024, description="Directory relative to the workspace")


async def _read_file(context: ToolContext, params: ReadFileInput) -> dict[str, Any]:
    target = resolve_inside(context.sandbox.workspace, params.path)
    if not target.is_file():
        raise ToolFailure(f"no file {params.path!r}")
    data = await asyncio.to_thread(_read_prefix, target)
    return {"path": params.path, "content": data.decode(errors="replace"), "truncated": len(data) == MAX_READ_BYTES}


def _read_prefix(target: Path) -> bytes:
    with target.open("rb") as handle:
        return handle.read(MAX_READ_BYTES)


async def _write_file(context: ToolContext, params: WriteFileInput) -> dict[str, Any]:
    target = resolve_inside(context.sandbox.workspace, params.path)
    if target.is_dir():
        raise ToolFailure(f"{params.path!r} is a directory")
    missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(target.write_text, params.content)
    for created in (target, *missing):
        context.sandbox.adopt(created)
    return {"path": params.path, "bytes": len(params.content.encode())}


async def _list_files(context: ToolContext, params: ListFilesInput) -> dict[str, Any]:
    target = resolve_inside(context.sandbox.workspace, params.path)
    if not target.is_dir():
        raise ToolFailure(f"no directory {params.path!r}")
    entries = sorted(target.iterdir())[:MAX_LISTED]
    return {
        "path": params.path,
        "entries": [{"name": e.name, "type": "dir" if e.is_dir() else "file"} for e in entries],
    }


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
