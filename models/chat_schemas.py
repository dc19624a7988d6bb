"""Request and response bodies of the chats API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from models.enums import MessageRole, MessageStatus
from models.pricing import PRICES
from models.wire import WireModel

ChatIdText = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
ChatTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _priced(model: str) -> str:
    if model not in PRICES:
        raise ValueError(f"unknown model {model!r}: use `scripted` or a Claude model id listed in the schema")
    return model


# Only models with a known price: a model billed at a guessed price would be billed wrong.
ModelId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_priced),
    Field(json_schema_extra={"enum": list(PRICES)}),
]


class ChatCreate(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "hR3pQx2Lk9TmWv1a", "title": "Flights"}]})

    id: ChatIdText | None = Field(
        None, description="Your own id (e.g. the AI SDK chat id). Sending the same id again is idempotent."
    )
    title: ChatTitle | None = None
    model_id: ModelId | None = None


class ChatPatch(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"title": "Flights to Lisbon"}]})

    title: ChatTitle


class ChatRow(WireModel):
    """A sidebar row."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "hR3pQx2Lk9TmWv1a",
                    "title": "Flights",
                    "sessionId": "5b0f6c1e-8d1a-4c47-9f0e-2a7f6b1d2c3e",
                    "subjectId": "artist-17",
                    "updatedAt": "2026-11-21T10:02:11.120000Z",
                    "unreadCount": 2,
                    "activeTurnId": None,
                }
            ]
        }
    )

    id: str
    title: str | None
    session_id: uuid.UUID
    subject_id: str | None
    updated_at: datetime
    unread_count: int
    active_turn_id: uuid.UUID | None


class PendingQuestion(WireModel):
    """A question the agent asked and is waiting on; answer it with POST /turns/{turnId}/input."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "turnId": "0c3e2a51-1b7e-4c1f-9d7a-8e0f5d9b2c11",
                    "toolCallId": "toolu_01A",
                    "question": "Which printer?",
                    "options": ["Front desk", "Back office"],
                    "multiSelect": False,
                }
            ]
        }
    )

    turn_id: uuid.UUID
    tool_call_id: str
    question: str
    options: list[str] | None = None
    multi_select: bool = False


class ChatOut(ChatRow):
    model_id: str | None
    pending_question: PendingQuestion | None = Field(
        None, description="The question the running turn waits on, for any device to answer."
    )
    message_count: int
    last_read_seq: int
    last_message_at: datetime | None
    created_at: datetime


class ChatPage(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [], "nextCursor": None}]})

    items: list[ChatRow]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page.")


class MessageOut(WireModel):
    """An AI SDK UIMessage as persisted, with its position and status in the chat."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "msg_1",
                    "role": "user",
                    "parts": [{"type": "text", "text": "Hi"}],
                    "seq": 1,
                    "status": "complete",
                    "createdAt": "2026-11-21T10:02:11.120000Z",
                }
            ]
        }
    )

    id: str
    role: MessageRole
    parts: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None
    seq: int
    status: MessageStatus
    created_at: datetime


class MessagePage(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [], "hasMoreBefore": False, "hasMoreAfter": False}]}
    )

    items: list[MessageOut] = Field(description="Oldest first.")
    has_more_before: bool = Field(description="Ask again with `before` = the first item's seq.")
    has_more_after: bool = Field(description="Ask again with `after` = the last item's seq.")


class ReadMark(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"seq": 12}, {}]})

    seq: int | None = Field(None, ge=0, description="Last message seq the reader has seen; omit for all of them.")


class ReadState(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"lastReadSeq": 12, "unreadCount": 0}]})

    last_read_seq: int
    unread_count: int
