"""What the model writes about a session, and the names that carry it: the title and problem domain generated
after the first exchange, and the resolve/escalate handoff drafts streamed to the API."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum

TITLE_MAX_CHARS = 60
# A pg_notify payload must stay under 8000 bytes; 1000 characters stay under it even fully escaped.
NOTICE_MAX_CHARS = 1000


class ProblemDomain(StrEnum):
    NETWORK = "network"
    HARDWARE = "hardware"
    SOFTWARE = "software"
    ACCOUNT = "account"
    BILLING = "billing"
    TRAVEL = "travel"
    OTHER = "other"


class HandoffKind(StrEnum):
    RESOLVE = "resolve"
    ESCALATE = "escalate"


def session_summary_workflow_id(session_id: str) -> str:
    return f"summary:{session_id}"


def handoff_draft_workflow_id(session_id: str, draft_id: str) -> str:
    return f"handoff-draft:{session_id}:{draft_id}"


def draft_channel(draft_id: str) -> str:
    """The pg_notify channel one draft streams on; only the API request that asked for it listens."""
    return f"handoff_draft_{uuid.UUID(draft_id).hex}"


@dataclass(frozen=True)
class SessionSummaryInput:
    session_id: str


@dataclass(frozen=True)
class SessionSummaryResult:
    # Whether this run set the title; the title itself stays out of the history (it quotes the user).
    title_generated: bool
    problem_domain: str | None


@dataclass(frozen=True)
class HandoffDraftInput:
    session_id: str
    draft_id: str
    kind: HandoffKind


@dataclass(frozen=True)
class HandoffDraftResult:
    # Only the length: the draft's text reaches the API over pg_notify and never enters workflow history.
    characters: int


@dataclass(frozen=True)
class DraftNotice:
    """One piece of a draft on its channel; `end` marks the last notice of an attempt, `offset` its length."""

    attempt: int
    offset: int
    delta: str = ""
    end: bool = False

    def encode(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, payload: str) -> DraftNotice:
        return cls(**json.loads(payload))
