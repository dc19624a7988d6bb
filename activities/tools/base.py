"""What a tool is: a name, a JSON-schema'd input, whether re-running it is safe, and how to run it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from activities.sandbox.base import Limits, Sandbox

InputT = TypeVar("InputT", bound=BaseModel)
# Receives the tool's output so far, for a client to show while a long tool runs.
ProgressSink = Callable[[dict[str, Any]], None]
# Saves triage fields on the turn's session and returns the whole triage header as it now stands.
TriageWriter = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


def declaration(name: str, description: str, input_model: type[BaseModel]) -> dict[str, Any]:
    """What the model sees of a tool: its name, what it is for, and its input's JSON schema."""
    schema = input_model.model_json_schema()
    schema.pop("title", None)
    return {"name": name, "description": description, "input_schema": schema}


def invalid_input(name: str, exc: ValidationError) -> str:
    """The model's own mistake, told so it can call again correctly."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
    return f"invalid input for {name}: {problems}"


class ToolFailure(Exception):
    """A failure the model should read and react to; it never crashes the turn."""


@dataclass(frozen=True)
class ToolContext:
    sandbox: Sandbox
    limits: Limits
    turn_id: str
    tool_call_id: str
    progress: ProgressSink | None = None
    # Stream chunks of the tool's own (e.g. `data-*` parts), appended before its output.
    emit: ProgressSink | None = None
    save_triage: TriageWriter | None = None


@dataclass(frozen=True)
class Tool(Generic[InputT]):
    name: str
    description: str
    input_model: type[InputT]
    run: Callable[[ToolContext, InputT], Awaitable[dict[str, Any]]]
    # Safe to run again after a crash interrupted it (no effect beyond its own output).
    idempotent: bool = False

    def spec(self) -> dict[str, Any]:
        return declaration(self.name, self.description, self.input_model)

    async def invoke(self, context: ToolContext, raw_input: dict[str, Any]) -> dict[str, Any]:
        try:
            parsed = self.input_model.model_validate(raw_input)
        except ValidationError as exc:
            raise ToolFailure(invalid_input(self.name, exc)) from exc
        return await self.run(context, parsed)
