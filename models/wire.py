"""Base for JSON that turnflow speaks: camelCase on the wire, like the AI SDK."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """Accepts camelCase or snake_case input; always writes camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
