"""Provider events of one model step as AI SDK UI chunks, collecting the step's tool calls and usage."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from activities.continuation import OverlapTrimmer, Resume
from activities.model.events import BlockDelta, BlockStart, BlockStop, ModelEvent, StepStop, Usage
from turnlog import chunks
from turnlog.chunks import Chunk, StreamedPart


@dataclass
class PendingToolCall:
    tool_call_id: str
    tool_name: str
    input: dict[str, Any]
    input_error: str | None = None


@dataclass
class _Block:
    kind: str
    part_id: str
    tool_call_id: str | None = None
    tool_name: str | None = None
    buffer: list[str] = field(default_factory=list)

    @property
    def streamed_part(self) -> StreamedPart:
        """The UI part a text or thinking block streams into."""
        return "text" if self.kind == "text" else "reasoning"


class StepChunks:
    """Part ids carry the step and attempt, so a retried step never reuses an id the client has seen, unless it
    continues the text part an earlier attempt left open."""

    def __init__(self, step: int, attempt: int, resume: Resume | None = None) -> None:
        self._prefix = f"s{step}a{attempt}"
        self._blocks: dict[int, _Block] = {}
        continuing = resume is not None and resume.continues
        self._continue_id = resume.open_text_id if resume is not None and continuing else None
        self._trimmer = OverlapTrimmer(resume.partial_text) if resume is not None and continuing else None
        self._trimmed_index: int | None = None
        self.tool_calls: list[PendingToolCall] = []
        self.usage = Usage()
        self.stop_reason = "end_turn"
        self.started_at = time.time()  # wall clock, for telemetry
        self.first_text_at: float | None = None
        self.text = ""  # the step's text so far

    def on(self, event: ModelEvent) -> list[Chunk]:
        if isinstance(event, BlockStart):
            return self._start(event)
        if isinstance(event, BlockDelta):
            return self._delta(event)
        if isinstance(event, BlockStop):
            return self._stop(event)
        if isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, StepStop):
            self.stop_reason = event.reason
        return []

    def _start(self, event: BlockStart) -> list[Chunk]:
        block = _Block(event.kind, f"{self._prefix}b{event.index}", event.tool_call_id, event.tool_name)
        self._blocks[event.index] = block
        if event.kind == "tool_use":
            assert event.tool_call_id is not None and event.tool_name is not None
            return [chunks.tool_input_start(event.tool_call_id, event.tool_name)]
        if event.kind == "text" and self._trimmer is not None and self._trimmed_index is None:
            self._trimmed_index = event.index  # the continuation of the cut-off text
            if self._continue_id is not None:
                block.part_id = self._continue_id
                return []
        return [chunks.part_start(block.streamed_part, block.part_id)]

    def _delta(self, event: BlockDelta) -> list[Chunk]:
        block = self._blocks[event.index]
        if block.kind == "tool_use":
            block.buffer.append(event.text)
            assert block.tool_call_id is not None
            return [chunks.tool_input_delta(block.tool_call_id, event.text)]
        text = event.text
        if self._trimmer is not None and event.index == self._trimmed_index:
            text = self._trimmer.feed(text)
        return self._text_delta(block, text)

    def _text_delta(self, block: _Block, text: str) -> list[Chunk]:
        if not text:
            return []
        if block.kind == "text":
            self.text += text
            if self.first_text_at is None:
                self.first_text_at = time.time()
        return [chunks.part_delta(block.streamed_part, block.part_id, text)]

    def _stop(self, event: BlockStop) -> list[Chunk]:
        block = self._blocks.pop(event.index)
        if block.kind != "tool_use":
            held = self._trimmer.finish() if self._trimmer is not None and event.index == self._trimmed_index else ""
            return [*self._text_delta(block, held), chunks.part_end(block.streamed_part, block.part_id)]
        assert block.tool_call_id is not None and block.tool_name is not None
        raw = "".join(block.buffer)
        call = PendingToolCall(block.tool_call_id, block.tool_name, {})
        try:
            parsed = json.loads(raw) if raw.strip() else {}
            if isinstance(parsed, dict):
                call.input = parsed
            else:
                call.input_error = "the tool input is not a JSON object"
        except json.JSONDecodeError as exc:
            call.input_error = f"the tool input is not valid JSON: {exc}"
        self.tool_calls.append(call)
        return [chunks.tool_input_available(call.tool_call_id, call.tool_name, call.input)]

    def open_parts(self) -> list[Chunk]:
        """Closing chunks for text still open when the call ended early, so no part dangles."""
        return [chunks.part_end(b.streamed_part, b.part_id) for b in self._blocks.values() if b.kind != "tool_use"]
