"""What the model writes about a session, and the names that carry it: the title and problem domain generated
after the first exchange, and the resolve/escalate handoff drafts streamed to the API."""

from __future__ import annotations

import json
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

    def encode(self, draft_id: str) -> str:
        """The pg_notify payload: the draft's id, then the notice, so one channel carries every draft."""
        return f"{draft_id}:{json.dumps(asdict(self), ensure_ascii=False, separators=(',', ':'))}"

    @classmethod
    def decode(cls, payload: str) -> tuple[str, DraftNotice]:
        """The draft's id and its notice."""
        draft_id, _, notice = payload.partition(":")
        return draft_id, cls(**json.loads(notice))
