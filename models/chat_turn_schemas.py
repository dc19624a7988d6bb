"""The body `useChat`'s DefaultChatTransport posts to /chat/workflow, and what turnflow adds to it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from models.chat_schemas import ChatIdText, ModelId, PendingQuestion
from models.enums import MessageRole, TurnStatus
from models.wire import WireModel

MAX_MESSAGES = 1000
MAX_PARTS = 200
MAX_TEXT_CHARS = 200_000
MessageIdText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
AnswerText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]
OptionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class UIMessageIn(BaseModel):
    """An AI SDK UIMessage as the client sends it; parts are kept as sent."""

    model_config = ConfigDict(extra="ignore")

    id: MessageIdText
    role: MessageRole
    parts: Annotated[list[dict[str, Any]], Field(max_length=MAX_PARTS)]
    metadata: dict[str, Any] | None = None

    @field_validator("parts")
    @classmethod
    def _parts_have_types(cls, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if any(not isinstance(p.get("type"), str) for p in parts):
            raise ValueError("every part needs a string `type`")
        if sum(len(p.get("text", "")) for p in parts if isinstance(p.get("text"), str)) > MAX_TEXT_CHARS:
            raise ValueError(f"at most {MAX_TEXT_CHARS} characters of text per message")
        return parts


class ChatTurnRequest(WireModel):
    """Unknown keys are ignored: an app may add its own fields to the transport's body."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "id": "hR3pQx2Lk9TmWv1a",
                    "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Hi!"}]}],
                    "trigger": "submit-message",
                    "subjectId": "artist-17",
                }
            ]
        },
    )

    id: ChatIdText = Field(description="The chat id (created on first use).")
    messages: Annotated[list[UIMessageIn], Field(min_length=1, max_length=MAX_MESSAGES)] = Field(
        description="The whole history or only the new message; only the last one is read."
    )
    trigger: Literal["submit-message", "regenerate-message"] = "submit-message"
    message_id: MessageIdText | None = None
    session_id: uuid.UUID | None = Field(None, description="Session for a new chat; a new one is made when absent.")
    subject_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    model: ModelId | None = Field(None, description="Model for this chat (`scripted`, or a Claude model id).")
    multitask_strategy: Literal["reject", "enqueue", "interrupt"] = Field(
        "reject",
        description="When a turn is already running: answer 409 (reject), run after it (enqueue), or stop it, "
        "keeping its partial answer, and then run (interrupt).",
    )


class TurnUsage(WireModel):
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal


class TurnOut(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0c3e2a51-1b7e-4c1f-9d7a-8e0f5d9b2c11",
                    "chatId": "hR3pQx2Lk9TmWv1a",
                    "number": 3,
                    "workflowId": "turn:hR3pQx2Lk9TmWv1a:3",
                    "status": "completed",
                    "usage": {
                        "inputTokens": 812,
                        "outputTokens": 96,
                        "cacheWriteTokens": 0,
                        "cacheReadTokens": 640,
                        "costUsd": "0.003072",
                    },
                }
            ]
        }
    )

    id: uuid.UUID
    chat_id: str
    session_id: uuid.UUID
    number: int | None = Field(description="Position in the chat; null for a sub-agent's turn.")
    workflow_id: str
    parent_turn_id: uuid.UUID | None = None
    status: TurnStatus
    trigger: str
    model: str | None
    user_message_id: str | None
    assistant_message_id: str | None
    finish_reason: str | None
    error: dict[str, Any] | None
    attempts: int
    step_count: int
    last_event_seq: int
    created_at: datetime
    started_at: datetime | None
    first_token_at: datetime | None
    finished_at: datetime | None
    usage: TurnUsage
    pending_question: PendingQuestion | None = None


class StopRequest(WireModel):
    """What the AI SDK app may send with a stop: the turn it believes is running, and its partial answer."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"turnId": "0c3e2a51-1b7e-4c1f-9d7a-8e0f5d9b2c11"}, {}]},
    )

    turn_id: uuid.UUID | None = Field(None, description="A stop naming a turn that is no longer running is ignored.")
    message: UIMessageIn | None = Field(
        None,
        description="The client's partial answer; kept only if the server had streamed nothing itself, and only "
        "its text.",
    )

    def text_snapshot(self) -> list[dict[str, Any]]:
        """The partial answer's text parts, rebuilt: a client may show what it received, but never add tool calls
        or results the server did not run."""
        parts = self.message.parts if self.message is not None else []
        return [
            {"type": "text", "text": p["text"]}
            for p in parts
            if p.get("type") == "text" and isinstance(p.get("text"), str) and p["text"].strip()
        ]


class StopResult(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"turnId": "0c3e2a51-1b7e-4c1f-9d7a-8e0f5d9b2c11", "stopped": True}]}
    )

    turn_id: uuid.UUID | None = Field(description="The turn that is stopping, or the chat's running turn if any.")
    stopped: bool = Field(description="False when nothing was running or the stop named another turn.")


class QuestionAnswer(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"toolCallId": "toolu_01A", "answer": "Front desk"}]})

    tool_call_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    answer: AnswerText | Annotated[list[OptionText], Field(min_length=1, max_length=10)] = Field(
        description="Text, one of the options, or (multi-select) several of them."
    )


class AnswerAccepted(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"turnId": "0c3e2a51-1b7e-4c1f-9d7a-8e0f5d9b2c11", "toolCallId": "toolu_01A"}]}
    )

    turn_id: uuid.UUID
    tool_call_id: str
