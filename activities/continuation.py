"""Continuing a model step that a crash cut off, so the client never sees text twice.

A retried step finds what earlier attempts streamed in the log. Text-only output is continued: the model is asked
to go on from the partial text (as an assistant prefill where the model accepts one, otherwise as an instruction,
since Claude 4.6 and later answer 400 to a prefill) and any overlap it repeats is trimmed. Output that cannot be
continued (a half-written tool call) is closed and the client is told, in a `data-notice` part, that the step
restarted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from turnlog import chunks
from turnlog.assembly import assemble, closing_chunks, unfinished_tool_chunks

PARTIAL_OPEN, PARTIAL_CLOSE = "<partial_reply>", "</partial_reply>"
CONTINUE_INSTRUCTION = (
    "[turnflow] Your previous reply was cut off by an infrastructure failure. This is exactly what you had "
    f"written so far:\n{PARTIAL_OPEN}\n{{partial}}\n{PARTIAL_CLOSE}\n"
    "Continue the reply exactly where it stops, without repeating any of it."
)
OVERLAP_WINDOW = 400
MIN_TRIMMED_OVERLAP = 8
_MODEL_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)-(\d+)")


@dataclass
class Resume:
    """What earlier attempts of this step left in the log, and how the retry goes on from it."""

    partial_text: str = ""
    open_text_id: str | None = None
    # Chunks to emit first when continuing is impossible: closes, failed tools, and the notice.
    restart_chunks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def continues(self) -> bool:
        return bool(self.partial_text) and not self.restart_chunks


def plan_resume(earlier_attempts: list[dict[str, Any]], attempt: int) -> Resume | None:
    """None for a first attempt (or when earlier attempts streamed nothing of this step)."""
    if not earlier_attempts:
        return None
    message = assemble(earlier_attempts)
    has_tools = any(p["type"].startswith("tool-") for p in message.parts)
    has_reasoning = any(p["type"] == "reasoning" for p in message.parts)
    text = "".join(p["text"] for p in message.parts if p["type"] == "text")
    if not has_tools and not has_reasoning:
        open_text = [part_id for kind, part_id in message.open_parts if kind == "text"]
        return Resume(partial_text=text, open_text_id=open_text[-1] if open_text else None)
    notice = chunks.data(
        "notice",
        {
            "kind": "step-restarted",
            "message": "A worker failed while this step was calling a tool; the step was started again.",
        },
        f"restart-{attempt}",
    )
    reason = "interrupted by a worker failure; the step was started again"
    return Resume(restart_chunks=[*closing_chunks(message), *unfinished_tool_chunks(message, reason), notice])


def accepts_prefill(model: str) -> bool:
    """Claude 4.6 and later reject a final assistant message; older Claude models continue it."""
    match = _MODEL_VERSION.match(model)
    if match is None:
        return model.startswith("claude-3")
    return (int(match.group(1)), int(match.group(2))) < (4, 6)


def continuation_messages(messages: list[dict[str, Any]], partial: str, model: str) -> list[dict[str, Any]]:
    if accepts_prefill(model):
        # The API refuses a prefill that ends in white space; the trimmer drops it again if the model repeats it.
        return [*messages, {"role": "assistant", "content": partial.rstrip()}]
    last = dict(messages[-1])
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
    blocks.append({"type": "text", "text": CONTINUE_INSTRUCTION.format(partial=partial)})
    last["content"] = blocks
    return [*messages[:-1], last]


class OverlapTrimmer:
    """Holds back the start of the continuation until it can tell how much of the partial text it repeats: a
    repeated tail of the partial, or the whole partial when the model starts its reply over, however long."""

    def __init__(self, partial: str) -> None:
        self._partial = partial
        # Where a repeated tail can start. Text found nowhere in it (but at its very end) cannot be the start of a
        # tail longer than itself, so what it repeats is known at once: a continuation is not held back needlessly.
        self._window = partial[-OVERLAP_WINDOW:]
        self._buffer = ""
        self._decided = not partial

    def feed(self, delta: str) -> str:
        if self._decided:
            return delta
        self._buffer += delta
        if self._partial.startswith(self._buffer) and len(self._buffer) < len(self._partial):
            return ""  # so far the reply starts over: wait for it to pass the partial or to part from it
        if _common_prefix(self._partial, self._buffer) < MIN_TRIMMED_OVERLAP and self._buffer in self._window[:-1]:
            return ""  # not a restart, but a tail longer than what came so far may still be under way
        return self._release()

    def finish(self) -> str:
        return "" if self._decided else self._release()

    def _release(self) -> str:
        self._decided = True
        text, self._buffer = self._buffer, ""
        restarted = _common_prefix(self._partial, text)
        if restarted >= MIN_TRIMMED_OVERLAP or restarted == len(self._partial):
            return text[restarted:]
        return text[_overlap(self._partial, text) :]


def _common_prefix(a: str, b: str) -> int:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return size


def _overlap(partial: str, continuation: str) -> int:
    """Length of the longest tail of `partial` that `continuation` starts with, if long enough to be a repeat."""
    longest = min(len(partial), len(continuation), OVERLAP_WINDOW)
    for size in range(longest, 0, -1):
        if continuation.startswith(partial[-size:]):
            # A short match may be chance; a long one, all of the partial, or mere white space is a repeat.
            if size >= MIN_TRIMMED_OVERLAP or size == len(partial) or not partial[-size:].strip():
                return size
            return 0
    return 0
