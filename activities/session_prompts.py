"""What a model is asked about a session (its title and domain, a handoff draft) and the sizes its answers are
clipped to. The offline model reads its requests back through the readers here, so both sides share one format."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from models.session_summary import TITLE_MAX_CHARS, HandoffKind, ProblemDomain

EXCERPT_CHARS = 4000
TOOL_TEXT_CHARS = 1000
# A long session keeps its opening (the problem) and its end (what was found), and drops the middle.
TRANSCRIPT_HEAD_CHARS = 10_000
TRANSCRIPT_TAIL_CHARS = 50_000

SUMMARY_SYSTEM = (
    "You name sessions for a list of sessions. Reply with only a JSON object "
    '{"title": "...", "problem_domain": "..."}. The title names the problem or topic in at most '
    f"{TITLE_MAX_CHARS} characters, in the language of the first message, without quotes or a final period. "
    f"The problem_domain is exactly one of: {', '.join(d.value for d in ProblemDomain)}."
)
DRAFT_SYSTEM = {
    HandoffKind.RESOLVE: (
        "You write the resolution record of a support session for the engineer closing it. Use only facts from "
        'the conversation and write "unknown" where it says nothing. Reply in plain text with exactly these '
        "sections:\nResolution summary: <two or three sentences>\nResolving action: <what fixed it>\n"
        "Root cause: <why it happened>\nSteps taken:\n- <one line per step>\nRecommendations:\n- <one line each>"
    ),
    HandoffKind.ESCALATE: (
        "You write the escalation package of a support session for the engineer who receives it. Use only facts "
        'from the conversation and write "unknown" where it says nothing. Reply in plain text with exactly these '
        "sections:\nReason: <why it needs escalating>\nSummary: <two or three sentences>\n"
        "Environment: <systems, versions, locations>\nReproduction steps:\n- <one line each>\n"
        "Attempted fixes:\n- <one line each>\nEvidence:\n- <one line each>\nUrgency: <low, normal, high or critical>"
    ),
}
_DRAFT_ASK = {HandoffKind.RESOLVE: "the resolution record", HandoffKind.ESCALATE: "the escalation package"}


class Speaker(StrEnum):
    USER = "User"
    ASSISTANT = "Assistant"
    TOOL_CALL = "Tool call"
    TOOL_RESULT = "Tool result"
    TOOL_ERROR = "Tool error"


TranscriptLine = tuple[Speaker, str]
_SPEAKERS = frozenset(s.value for s in Speaker)


def clip(value: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when one is near."""
    flat = " ".join(value.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


def clip_title(value: str) -> str | None:
    return clip(value.strip().strip("\"'").strip(), TITLE_MAX_CHARS) or None


def exchange_prompt(question: str, answer: str) -> str:
    return f"{_tagged('first_message', question[:EXCERPT_CHARS])}\n{_tagged('first_answer', answer[:EXCERPT_CHARS])}"


def first_message(prompt: str) -> str:
    """The question an exchange prompt holds."""
    return _between(prompt, "first_message")


def transcript_lines(messages: list[dict[str, Any]]) -> list[TranscriptLine]:
    """One line per content block, tool calls and results included but clipped."""
    lines: list[TranscriptLine] = []
    for message in messages:
        for block in message["content"]:
            if block["type"] == "text":
                lines.append((Speaker.USER if message["role"] == "user" else Speaker.ASSISTANT, block["text"]))
            elif block["type"] == "tool_use":
                call = f"{block['name']} {json.dumps(block['input'])}"
                lines.append((Speaker.TOOL_CALL, call[:TOOL_TEXT_CHARS]))
            elif block["type"] == "tool_result":
                content = block.get("content", "")
                result = content if isinstance(content, str) else json.dumps(content)
                speaker = Speaker.TOOL_ERROR if block.get("is_error") else Speaker.TOOL_RESULT
                lines.append((speaker, result[:TOOL_TEXT_CHARS]))
    return lines


def draft_prompt(kind: HandoffKind, lines: list[TranscriptLine]) -> str:
    transcript = "\n\n".join(f"{speaker}: {said}" for speaker, said in lines)
    if len(transcript) > TRANSCRIPT_HEAD_CHARS + TRANSCRIPT_TAIL_CHARS:
        dropped = len(transcript) - TRANSCRIPT_HEAD_CHARS - TRANSCRIPT_TAIL_CHARS
        transcript = (
            f"{transcript[:TRANSCRIPT_HEAD_CHARS]}\n\n[… {dropped} characters left out …]\n\n"
            f"{transcript[-TRANSCRIPT_TAIL_CHARS:]}"
        )
    return f"{_tagged('conversation', transcript)}\n\nWrite {_DRAFT_ASK[kind]} of this session now."


def transcript_of(prompt: str) -> list[TranscriptLine]:
    """The lines a draft prompt holds; a paragraph that names no speaker goes on the line before it."""
    lines: list[TranscriptLine] = []
    for paragraph in _between(prompt, "conversation").split("\n\n"):
        speaker, colon, said = paragraph.partition(": ")
        if colon and speaker in _SPEAKERS:
            lines.append((Speaker(speaker), said))
        elif lines:
            lines[-1] = (lines[-1][0], f"{lines[-1][1]}\n\n{paragraph}")
    return lines


def _tagged(tag: str, body: str) -> str:
    return f"<{tag}>\n{body}\n</{tag}>"


def _between(prompt: str, tag: str) -> str:
    """The body of the first `tag` element, or nothing when there is none."""
    opening = f"<{tag}>\n"
    start = prompt.find(opening)
    if start < 0:
        return ""
    start += len(opening)
    end = prompt.find(f"\n</{tag}>", start)
    return prompt[start:] if end < 0 else prompt[start:end]
