"""Base for JSON that turnflow speaks: camelCase on the wire, like the AI SDK."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# PostgreSQL text and JSONB cannot hold U+0000, so a request carrying one is refused up front, naming where it is.
NUL_ERROR = "nul_character"


def nul_path(value: Any) -> str | None:
    """The dotted path of the first string (or key) holding U+0000 in decoded JSON, or None when there is none."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and "\x00" in key:
                    return child_path
                pending.append((child_path, child))
        elif isinstance(item, list):
            pending.extend((f"{path}.{i}" if path else str(i), child) for i, child in enumerate(item))
    return None


class WireModel(BaseModel):
    """Accepts camelCase or snake_case input; always writes camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        if (path := nul_path(data)) is not None:
            raise PydanticCustomError(NUL_ERROR, "text may not contain NUL (U+0000) characters", {"path": path})
        return data
