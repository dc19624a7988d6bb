"""Request and response bodies of a session's lifecycle: resolve, escalate, status updates, triage, drafts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from models.session_schemas import TriageFields
from models.session_summary import HandoffKind
from models.wire import WireModel

MAX_LIST_ITEMS = 50
MAX_EXTRA_KEYS = 20

Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]
ListItem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ItemList = Annotated[list[ListItem], Field(max_length=MAX_LIST_ITEMS)]
ExtraKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]

_PACKAGE_EXAMPLE: dict[str, Any] = {
    "summary": "Printer drops off the network every few hours.",
    "environment": "HP M404dn, firmware 2.1, Ubiquiti router",
    "reproductionSteps": ["Reboot the router", "Print a test page"],
    "attemptedFixes": ["Power-cycled the printer"],
    "evidence": ["Config page shows 169.254.x.x"],
    "urgency": "high",
    "extra": {"ticket_id": "T-1009"},
}


class ResolveRequest(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resolutionSummary": "The front-desk printer was offline after a DHCP lease change.",
                    "resolvingAction": "Reserved 10.0.4.21 for the printer and re-added it on the PC.",
                    "rootCause": "The router reboot handed the printer a new address.",
                    "stepsTaken": ["Printed a config page", "Compared the IP with the PC's port"],
                    "recommendations": ["Reserve addresses for every printer"],
                }
            ]
        }
    )

    resolution_summary: Summary
    resolving_action: Summary | None = None
    root_cause: Summary | None = None
    steps_taken: ItemList = Field(default_factory=list)
    recommendations: ItemList = Field(default_factory=list)


class EscalationPackage(WireModel):
    """What the receiving engineer needs to start without re-asking the user."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PACKAGE_EXAMPLE]})

    summary: Summary
    environment: Summary | None = None
    reproduction_steps: ItemList = Field(default_factory=list)
    attempted_fixes: ItemList = Field(default_factory=list)
    evidence: ItemList = Field(default_factory=list)
    urgency: Literal["low", "normal", "high", "critical"] = "normal"
    extra: dict[ExtraKey, Any] = Field(default_factory=dict, description="Anything else, as JSON values.")

    @field_validator("extra")
    @classmethod
    def _few_keys(cls, extra: dict[str, Any]) -> dict[str, Any]:
        if len(extra) > MAX_EXTRA_KEYS:
            raise ValueError(f"at most {MAX_EXTRA_KEYS} extra keys")
        return extra


class EscalateRequest(WireModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "escalationReason": "Needs a router firmware change we cannot make remotely.",
                    "escalatedTo": "network-team",
                    "escalationPackage": _PACKAGE_EXAMPLE,
                }
            ]
        }
    )

    escalation_reason: Summary
    escalated_to: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    escalation_package: EscalationPackage


class TriagePatch(TriageFields):
    """Only the fields sent are changed; `null` clears a field."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "issueCategory": "printing",
                    "triageHypothesis": "The printer lost its DHCP lease",
                    "evidenceItems": [{"text": "Config page shows 169.254.x.x", "status": "confirmed"}],
                }
            ]
        }
    )

    def changes(self) -> dict[str, Any]:
        """The sent fields as column values; evidence items become plain objects and `null` empties the list."""
        values = self.model_dump(exclude_unset=True, exclude={"evidence_items"})
        if "evidence_items" in self.model_fields_set:
            values["evidence_items"] = [item.model_dump() for item in self.evidence_items or []]
        return values


class StatusUpdateCreate(WireModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "Printer back online; watching it for a day before closing."}]}
    )

    text: Summary


class StatusUpdateOut(WireModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e",
                    "sessionId": "5b0f6c1e-8d1a-4c47-9f0e-2a7f6b1d2c3e",
                    "text": "Printer back online; watching it for a day before closing.",
                    "createdAt": "2026-11-21T10:02:11.120000Z",
                }
            ]
        },
    )

    id: uuid.UUID
    session_id: uuid.UUID
    text: str
    created_at: datetime


class StatusUpdatePage(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [], "nextCursor": None}]})

    items: list[StatusUpdateOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page.")


class HandoffDraftRequest(WireModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kind": "resolve"}]})

    kind: HandoffKind = Field(description="Which form the draft is for: `resolve` or `escalate`.")
