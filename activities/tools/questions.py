"""ask_user_question: a question with optional quick-reply options. It is not run like other tools: the turn
waits durably for the user's answer, which becomes the tool's output."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from activities.tools.base import ToolInput, declaration, invalid_input
from models.turns import ASK_USER_QUESTION_TOOL

MAX_OPTIONS = 10


class QuestionInput(ToolInput):
    question: str = Field(min_length=1, max_length=2000, description="What to ask the user")
    options: list[str] | None = Field(
        None, max_length=MAX_OPTIONS, description="Answers to offer as quick-reply buttons"
    )
    multi_select: bool = Field(False, description="Whether several options may be chosen")
    timeout_s: int | None = Field(None, ge=1, description="How long to wait for the answer (capped by the server)")


def question_spec() -> dict[str, Any]:
    return declaration(
        ASK_USER_QUESTION_TOOL,
        "Ask the user a question and wait for the answer (which may take minutes or days). "
        "Offer options when the likely answers are few.",
        QuestionInput,
    )


def parse_question(raw: dict[str, Any]) -> QuestionInput | str:
    """The question, or the error text for the model when the input is not a valid question."""
    try:
        return QuestionInput.model_validate(raw)
    except ValidationError as exc:
        return invalid_input(ASK_USER_QUESTION_TOOL, exc)
