"""Continuing a cut-off step: what to continue, how to ask, and what overlap to trim."""

from __future__ import annotations

import pytest

from activities.continuation import (
    PARTIAL_OPEN,
    OverlapTrimmer,
    accepts_prefill,
    continuation_messages,
    plan_resume,
)


def test_text_only_attempt_is_continued_inside_its_open_part() -> None:
    earlier = [
        {"type": "start-step"},
        {"type": "text-start", "id": "s1a1b0"},
        {"type": "text-delta", "id": "s1a1b0", "delta": "Hello wor"},
    ]
    resume = plan_resume(earlier, attempt=2)
    assert resume is not None and resume.continues
    assert (resume.partial_text, resume.open_text_id) == ("Hello wor", "s1a1b0")


def test_half_written_tool_call_restarts_the_step_and_says_so() -> None:
    earlier = [
        {"type": "start-step"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "Let me run it"},
        {"type": "tool-input-start", "toolCallId": "c1", "toolName": "bash"},
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"comm'},
    ]
    resume = plan_resume(earlier, attempt=2)
    assert resume is not None and not resume.continues
    kinds = [c["type"] for c in resume.restart_chunks]
    assert kinds == ["text-end", "tool-input-available", "tool-output-error", "data-notice"]
    assert resume.restart_chunks[-1]["data"]["kind"] == "step-restarted"


def test_first_attempt_has_nothing_to_resume() -> None:
    assert plan_resume([], attempt=1) is None


@pytest.mark.parametrize(
    ("model", "prefill"),
    [
        ("claude-sonnet-4-6", False),
        ("claude-opus-4-7-20261001", False),
        ("claude-sonnet-5-0", False),
        ("claude-sonnet-4-5", True),
        ("claude-haiku-4-5-20251001", True),
        ("claude-3-7-sonnet-latest", True),
    ],
)
def test_prefill_only_for_models_that_accept_it(model: str, prefill: bool) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    asked = continuation_messages(messages, "Hello there ", model)
    assert accepts_prefill(model) is prefill
    if prefill:
        assert asked[-1] == {"role": "assistant", "content": "Hello there"}
    else:
        assert asked[-1]["role"] == "user" and PARTIAL_OPEN in asked[-1]["content"][-1]["text"]
        assert messages[0]["content"] == [{"type": "text", "text": "hi"}], "the caller's list is not modified"


@pytest.mark.parametrize(
    ("partial", "deltas", "expected"),
    [
        ("The quick brown fox ", ["brown fox ", "jumps over"], "jumps over"),  # repeated tail trimmed
        ("The quick brown fox ", ["jumps ", "over"], "jumps over"),  # nothing repeated
        ("Hi ", ["Hi there"], "there"),  # the whole (short) partial repeated
        ("It is 42", [" degrees"], " degrees"),  # no overlap with a one-character chance match
        ("a b", [" b c"], " b c"),  # a short chance match is not a repeat
        # The model starts its reply over instead of continuing: the whole repeat goes, however long.
        ("word " * 300, ["word " * 150, "word " * 150, "and on"], "and on"),
        ("word " * 300, ["word " * 100, "w", "ord " + "word " * 199], ""),
        # It starts over, then words it differently: the repeated opening goes, the new wording stays.
        ("The cause was a lease " * 40, ["The cause was a lease", " that expired"], "that expired"),
        ("The answer is", ["The end."], "The end."),  # a few shared words are not a restart
    ],
)
def test_overlap_trimmer(partial: str, deltas: list[str], expected: str) -> None:
    trimmer = OverlapTrimmer(partial)
    out = "".join(trimmer.feed(d) for d in deltas) + trimmer.finish()
    assert out == expected


@pytest.mark.parametrize(
    ("partial", "deltas", "released"),
    [
        # Text found nowhere in the partial cannot begin a repeat: it goes out at once, not a partial's length later.
        ("w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 ", ["w10 ", "w11 "], ["w10 ", "w11 "]),
        ("It is 42", [" degrees", " Celsius"], [" degrees", " Celsius"]),
        # Text that may be the start of a repeated tail is held until it is seen to be one, or not.
        ("The quick brown fox ", ["brown", " fox ", "jumps"], ["", "", "jumps"]),
        ("The quick brown fox ", ["qu", "ite so"], ["", "quite so"]),
    ],
)
def test_overlap_trimmer_holds_back_only_what_may_be_a_repeat(
    partial: str, deltas: list[str], released: list[str]
) -> None:
    trimmer = OverlapTrimmer(partial)
    assert [trimmer.feed(d) for d in deltas] == released
