"""What the offline model writes when asked about a session: the first message as its title, and a handoff draft
built from the conversation itself, in the sections Claude is asked for."""

from __future__ import annotations

import json

from activities.model.events import ModelRequest
from activities.session_prompts import (
    DRAFT_SYSTEM,
    SUMMARY_SYSTEM,
    Speaker,
    TranscriptLine,
    clip,
    clip_title,
    first_message,
    transcript_of,
)
from models.session_summary import HandoffKind, ProblemDomain

_DRAFT_KINDS = {system: kind for kind, system in DRAFT_SYSTEM.items()}


def written_answer(request: ModelRequest) -> str | None:
    """The answer to a request about a session, recognised by its system prompt; None for any other request."""
    prompt = request.messages[-1]["content"] if request.messages else ""
    if not isinstance(prompt, str):
        return None
    if request.system == SUMMARY_SYSTEM:
        named = {"title": clip_title(first_message(prompt)), "problem_domain": ProblemDomain.OTHER.value}
        return json.dumps(named, ensure_ascii=False)
    kind = _DRAFT_KINDS.get(request.system)
    return None if kind is None else _draft(kind, transcript_of(prompt))


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {clip(item, 200)}" for item in items[:10]) or "- unknown"


def _draft(kind: HandoffKind, lines: list[TranscriptLine]) -> str:
    said = [text for speaker, text in lines if speaker == Speaker.USER]
    answered = [text for speaker, text in lines if speaker == Speaker.ASSISTANT]
    tools = [text for speaker, text in lines if speaker == Speaker.TOOL_CALL]
    problem = clip(said[0], 300) if said else "unknown"
    last_answer = clip(answered[-1], 300) if answered else "unknown"
    if kind == HandoffKind.RESOLVE:
        return (
            f"Resolution summary: {problem}\nResolving action: {last_answer}\n"
            "Root cause: unknown (drafted offline by the scripted model)\n"
            f"Steps taken:\n{_bullets(tools or answered)}\n"
            "Recommendations:\n- Confirm with the user that the problem is gone."
        )
    return (
        f"Reason: still open after {len(said)} user messages (drafted offline by the scripted model)\n"
        f"Summary: {problem}\nEnvironment: unknown\nReproduction steps:\n{_bullets(said)}\n"
        f"Attempted fixes:\n{_bullets(tools)}\nEvidence:\n- {last_answer}\nUrgency: normal"
    )
