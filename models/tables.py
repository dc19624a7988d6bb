"""PostgreSQL schema as typed SQLAlchemy tables. Alembic migrations create it; the app never calls create_all."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.enums import (
    AgentType,
    MessageRole,
    MessageStatus,
    Outcome,
    SandboxState,
    SessionStatus,
    SessionType,
    ToolCallStatus,
    TurnStatus,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB, uuid.UUID: UUID(as_uuid=True)}


def _one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_valid")


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _updated() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))


def _counter() -> Mapped[int]:
    return mapped_column(BigInteger, server_default="0")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = _created()


class ApiKey(Base):
    """A key is shown once; only its SHA-256 is stored, so a leaked table leaks no usable key."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = _uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Session(Base):
    """One row for both guided troubleshooting and free chat, so both share history, status and actions."""

    __tablename__ = "sessions"
    __table_args__ = (
        _one_of("session_type", SessionType),
        _one_of("status", SessionStatus),
        CheckConstraint(
            f"sandbox_state IS NULL OR sandbox_state IN ({', '.join(repr(s.value) for s in SandboxState)})",
            name="sandbox_state_valid",
        ),
        Index("ix_sessions_account_activity", "account_id", "last_activity_at", "id"),
        Index("ix_sessions_external_refs", "external_refs", postgresql_using="gin"),
        Index("ix_sessions_account_id_owner_subject", "account_id", "owner_subject"),
        # A worker that leaves cleanly packs the sandboxes it holds.
        Index(
            "ix_sessions_sandbox_worker_id",
            "sandbox_worker_id",
            postgresql_where=text("sandbox_worker_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    organization_id: Mapped[str | None] = mapped_column(Text, index=True)
    session_type: Mapped[str] = mapped_column(Text, server_default=SessionType.CHAT.value)
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=SessionStatus.ACTIVE.value)
    status_before_archive: Mapped[str | None] = mapped_column(Text)
    subject_id: Mapped[str | None] = mapped_column(Text, index=True)
    # The end user a browser token created it for; such a token sees only its subject's sessions.
    owner_subject: Mapped[str | None] = mapped_column(Text)
    external_refs: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    problem_summary: Mapped[str | None] = mapped_column(Text)
    problem_domain: Mapped[str | None] = mapped_column(Text)
    # Triage header shown above a guided session and updated by the model during chat turns.
    client_name: Mapped[str | None] = mapped_column(Text)
    asset_name: Mapped[str | None] = mapped_column(Text)
    issue_category: Mapped[str | None] = mapped_column(Text)
    triage_hypothesis: Mapped[str | None] = mapped_column(Text)
    evidence_items: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    resolution_summary: Mapped[str | None] = mapped_column(Text)
    resolving_action: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    steps_taken: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    recommendations: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    escalated_to: Mapped[str | None] = mapped_column(Text)
    escalation_package: Mapped[dict[str, Any] | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    input_tokens: Mapped[int] = _counter()
    output_tokens: Mapped[int] = _counter()
    cache_write_tokens: Mapped[int] = _counter()
    cache_read_tokens: Mapped[int] = _counter()
    step_count: Mapped[int] = _counter()
    turn_count: Mapped[int] = _counter()
    sandbox_state: Mapped[str | None] = mapped_column(Text)
    sandbox_snapshot_ref: Mapped[str | None] = mapped_column(Text)
    # The worker holding the sandbox (its tool calls go to that worker's own task queue), and the workspace root its
    # files were last made ready on: a workspace elsewhere is stale and the session is restored from its snapshot.
    sandbox_worker_id: Mapped[uuid.UUID | None] = mapped_column()
    sandbox_root_id: Mapped[str | None] = mapped_column(Text)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (Index("ix_chats_account_updated", "account_id", "updated_at", "id"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[str | None] = mapped_column(Text)
    # The active-turn slot: set by one atomic UPDATE … WHERE active_turn_id IS NULL, so two sends cannot both win.
    active_turn_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("turns.id", ondelete="SET NULL", use_alter=True)
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Messages up to here are read for every reader: history brought in by `turnflow import` starts with no unread.
    history_read_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class ChatMessage(Base):
    """One AI SDK UIMessage; `parts` is stored exactly as the client assembles it."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq"),
        _one_of("role", MessageRole),
        _one_of("status", MessageStatus),
    )

    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(Text)
    parts: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    message_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata")
    status: Mapped[str] = mapped_column(Text, server_default=MessageStatus.COMPLETE.value)
    turn_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("turns.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class ChatRead(Base):
    """How far one reader (an end user, or the API key by default) has read a chat."""

    __tablename__ = "chat_reads"

    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    reader_id: Mapped[str] = mapped_column(Text, primary_key=True)
    last_read_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = _updated()


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (
        _one_of("status", TurnStatus),
        UniqueConstraint("chat_id", "number"),
        Index("ix_turns_finished_at", "finished_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # Null for a sub-agent's turn, which is numbered by its parent.
    number: Mapped[int | None] = mapped_column(Integer)
    workflow_id: Mapped[str] = mapped_column(Text, unique=True)
    # A `task` sub-agent runs as a turn of its own, under the parent turn's tool call.
    parent_turn_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    agent_call_id: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=TurnStatus.QUEUED.value)
    trigger: Mapped[str] = mapped_column(Text, server_default="submit-message")
    model_id: Mapped[str | None] = mapped_column(Text)
    user_message_id: Mapped[str | None] = mapped_column(Text)
    assistant_message_id: Mapped[str | None] = mapped_column(Text)
    finish_reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[dict[str, Any] | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    step_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # Allocating a stream-log seq locks this row until commit, so events become visible strictly in seq order.
    last_event_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # The model-step attempt that may write to the log ("<step>:<attempt>"); a superseded one is fenced off.
    stream_owner: Mapped[str | None] = mapped_column(Text)
    stop_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The client's own partial answer sent with a stop; kept only for when the server streamed nothing itself.
    client_snapshot: Mapped[list[Any] | None] = mapped_column()
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_token_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TurnEvent(Base):
    """The turn's stream log: UI chunks in order, served to any client from any `seq`."""

    __tablename__ = "turn_events"

    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = _created()


class ToolCall(Base):
    """A tool call's input and saved result: (turn, tool call id) is the idempotency key of its side effects."""

    __tablename__ = "tool_calls"
    __table_args__ = (_one_of("status", ToolCallStatus),)

    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True)
    tool_call_id: Mapped[str] = mapped_column(Text, primary_key=True)
    step: Mapped[int] = mapped_column(Integer)
    tool_name: Mapped[str] = mapped_column(Text)
    input: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(Text, server_default=ToolCallStatus.PENDING.value)
    output: Mapped[dict[str, Any] | None] = mapped_column()
    error_text: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TurnStep(Base):
    """Telemetry of one model call attempt of a turn, written also when it failed or was stopped."""

    __tablename__ = "turn_steps"
    __table_args__ = (_one_of("outcome", Outcome), Index("ix_turn_steps_started", "started_at"))

    turn_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True)
    # Empty for the turn's own agent; the `task` tool call's id for a sub-agent's steps.
    agent_call_id: Mapped[str] = mapped_column(Text, primary_key=True, server_default="")
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_type: Mapped[str] = mapped_column(Text, server_default=AgentType.MAIN.value)
    model: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    finish_reason: Mapped[str | None] = mapped_column(Text)
    tool_count: Mapped[int] = mapped_column(Integer, server_default="0")
    duration_ms: Mapped[float] = mapped_column(Numeric(12, 3))
    ttft_ms: Mapped[float | None] = mapped_column(Numeric(12, 3))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = _created()


class SessionStatusUpdate(Base):
    """A shareable progress note on a session (what was tried, what is next)."""

    __tablename__ = "session_status_updates"

    id: Mapped[uuid.UUID] = _uuid_pk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class UsageEvent(Base):
    """One model call's tokens and cost; `dedupe_key` makes a retried write land once."""

    __tablename__ = "usage_events"
    __table_args__ = (
        _one_of("agent_type", AgentType),
        Index("ix_usage_events_account_created", "account_id", "created_at"),
        # The spend digest sums one window across all accounts.
        Index("ix_usage_events_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(Text, unique=True)
    turn_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("turns.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), index=True)
    chat_id: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(Text)
    agent_type: Mapped[str] = mapped_column(Text, server_default=AgentType.MAIN.value)
    tool_call_id: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = _counter()
    output_tokens: Mapped[int] = _counter()
    cache_write_tokens: Mapped[int] = _counter()
    cache_read_tokens: Mapped[int] = _counter()
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), server_default="0")
    created_at: Mapped[datetime] = _created()


class WorkerSession(Base):
    """A worker process and the database session it holds for its life: when that session is gone, so is the
    worker, and a survivor fails the attempts it was running."""

    __tablename__ = "worker_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    backend_pid: Mapped[int] = mapped_column(Integer)
    backend_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    task_queue: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = _created()


class WorkerAttempt(Base):
    """An activity attempt a worker is running, by its Temporal task token."""

    __tablename__ = "worker_attempts"

    worker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("worker_sessions.id", ondelete="CASCADE"), primary_key=True)
    task_token: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    activity: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = _created()
