"""The prompts that ask about a session read back as they were written, and the offline model answers them."""

from __future__ import annotations

import json

from activities.model.events import BlockDelta, ModelEvent, ModelRequest, StepStop, Usage
from activities.model.scripted import ScriptedProvider
from activities.session_prompts import (
    DRAFT_SYSTEM,
    SUMMARY_SYSTEM,
    Speaker,
    TranscriptLine,
    draft_prompt,
    exchange_prompt,
    first_message,
    transcript_of,
)
from models.session_summary import HandoffKind

LINES: list[TranscriptLine] = [
    (Speaker.USER, "The label printer stopped.\n\nNote: it shows a red light"),
    (Speaker.ASSISTANT, "Let me look."),
    (Speaker.TOOL_CALL, 'bash {"command": "lpstat -p"}'),
    (Speaker.TOOL_RESULT, "printer zebra disabled"),
    (Speaker.TOOL_ERROR, "timed out"),
    (Speaker.ASSISTANT, "I re-enabled the queue.\n\n\n\nIt prints again."),
]


def test_a_draft_prompt_reads_back_as_its_lines() -> None:
    assert transcript_of(draft_prompt(HandoffKind.RESOLVE, LINES)) == LINES
    assert transcript_of("no conversation here") == []


def test_an_exchange_prompt_reads_back_as_its_question() -> None:
    assert first_message(exchange_prompt("Reset my\npassword", "Which account?")) == "Reset my\npassword"


async def _answer(system: str, prompt: str) -> tuple[list[str], list[ModelEvent]]:
    request = ModelRequest(model="scripted", system=system, messages=[{"role": "user", "content": prompt}])
    events = [event async for event in ScriptedProvider(delay_ms=0).stream(request)]
    return [e.text for e in events if isinstance(e, BlockDelta)], events


async def test_the_offline_model_names_a_session_by_its_first_message() -> None:
    question = "  My printer at the front desk prints blank pages since this morning's driver update"
    pieces, events = await _answer(SUMMARY_SYSTEM, exchange_prompt(question, "Let us check the driver."))
    assert len(pieces) > 1, "streamed word by word"
    named = json.loads("".join(pieces))
    assert named == {"title": "My printer at the front desk prints blank pages since this…", "problem_domain": "other"}
    assert events[-2:] == [Usage(), StepStop("end_turn")]


async def test_the_offline_model_drafts_from_the_conversation() -> None:
    pieces, _ = await _answer(DRAFT_SYSTEM[HandoffKind.RESOLVE], draft_prompt(HandoffKind.RESOLVE, LINES))
    draft = "".join(pieces)
    assert draft.startswith("Resolution summary: The label printer stopped. Note: it shows a red light\n")
    assert "Resolving action: I re-enabled the queue. It prints again.\n" in draft
    assert 'Steps taken:\n- bash {"command": "lpstat -p"}\nRecommendations:' in draft
