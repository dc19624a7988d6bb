"""Request and response bodies of the sessions API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from models.enums import SessionStatus, SessionType
from models.wire import WireModel

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=8000)]
RefKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
RefValue = Annotated[str, StringConstraints(min_length=1, max_length=256)]
SubjectId = Annotated[str, StringConstraints(min_length=1, max_length=200)]

MAX_EXTERNAL_REFS = 20
MAX_EVIDENCE_ITEMS = 100


class EvidenceItem(WireModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    status: Literal["confirmed", "ruled_out", "pending"] = "pending"


class TriageFields(WireModel):
    """The triage header: who and what is affected, the working hypothesis and the evidence for it."""

    client_name: ShortText | None = None
    asset_name: ShortText | None = None
    issue_category: ShortText | None = None
    triage_hypothesis: LongText | None = None
    evidence_items: Annotated[list[EvidenceItem], Field(max_length=MAX_EVIDENCE_ITEMS)] | None = None


class SessionCreate(TriageFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sessionType": "guided",
                    "title": "Printer offline at front desk",
                    "subjectId": "client-4411",
                    "externalRefs": {"ticket_id": "T-1009"},
                    "clientName": "Acme Dental",
                }
            ]
        }
    )

    session_type: SessionType = SessionType.CHAT
    title: Title | None = None
    subject_id: SubjectId | None = None
    organization_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    external_refs: dict[RefKey, RefValue] = Field(default_factory=dict)
    problem_summary: LongText | None = None

    @field_validator("external_refs")
    @classmethod
    def _few_refs(cls, refs: dict[str, str]) -> dict[str, str]:
        if len(refs) > MAX_EXTERNAL_REFS:
            raise ValueError(f"at most {MAX_EXTERNAL_REFS} external refs")
        return refs


class SessionPatch(TriageFields):
    """Only the fields sent are changed; `null` clears a field."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "Printer fixed?", "status": "paused", "issueCategory": "hardware"}]}
    )

    title: Title | None = None
    status: SessionStatus | None = None
    subject_id: SubjectId | None = None
    problem_summary: LongText | None = None


class SessionOut(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5b0f6c1e-8d1a-4c47-9f0e-2a7f6b1d2c3e",
                    "sessionType": "chat",
                    "title": "Trip to Lisbon",
                    "status": "active",
                    "subjectId": "artist-17",
                    "externalRefs": {"trip_id": "LIS-2027"},
                    "messageCount": 12,
                    "unreadCount": 1,
                    "lastActivityAt": "2026-11-21T10:02:11.120000Z",
                }
            ]
        }
    )

    id: uuid.UUID
    session_type: SessionType
    title: str | None
    status: SessionStatus
    subject_id: str | None
    organization_id: str | None
    external_refs: dict[str, Any]
    problem_summary: str | None
    problem_domain: str | None
    client_name: str | None
    asset_name: str | None
    issue_category: str | None
    triage_hypothesis: str | None
    evidence_items: list[Any]
    resolution_summary: str | None
    resolving_action: str | None
    root_cause: str | None
    steps_taken: list[Any]
    recommendations: list[Any]
    resolved_at: datetime | None
    escalation_reason: str | None
    escalated_to: str | None
    escalation_package: dict[str, Any] | None
    escalated_at: datetime | None
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    step_count: int
    turn_count: int
    sandbox_state: str | None
    message_count: int = 0
    unread_count: int = 0
    last_activity_at: datetime
    created_at: datetime
    updated_at: datetime


class SessionPage(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [], "nextCursor": None}]})

    items: list[SessionOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page.")
