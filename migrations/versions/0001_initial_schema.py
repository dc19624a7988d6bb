"""Initial schema: accounts, keys, sessions, chats, messages, read cursors, turns, stream log, usage.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 09:53:27.563628
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_account_id"), "api_keys", ["account_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.Text(), nullable=True),
        sa.Column("session_type", sa.Text(), server_default="chat", nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("status_before_archive", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.Text(), nullable=True),
        sa.Column(
            "external_refs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("problem_summary", sa.Text(), nullable=True),
        sa.Column("problem_domain", sa.Text(), nullable=True),
        sa.Column("client_name", sa.Text(), nullable=True),
        sa.Column("asset_name", sa.Text(), nullable=True),
        sa.Column("issue_category", sa.Text(), nullable=True),
        sa.Column("triage_hypothesis", sa.Text(), nullable=True),
        sa.Column(
            "evidence_items",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("resolution_summary", sa.Text(), nullable=True),
        sa.Column("resolving_action", sa.Text(), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column(
            "steps_taken",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "recommendations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_reason", sa.Text(), nullable=True),
        sa.Column("escalated_to", sa.Text(), nullable=True),
        sa.Column("escalation_package", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("step_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("turn_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sandbox_state", sa.Text(), nullable=True),
        sa.Column("sandbox_snapshot_ref", sa.Text(), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "sandbox_state IS NULL OR sandbox_state IN ('provisioning', 'ready', 'hibernated', 'stopped', 'failed')",
            name=op.f("ck_sessions_sandbox_state_valid"),
        ),
        sa.CheckConstraint("session_type IN ('chat', 'guided')", name=op.f("ck_sessions_session_type_valid")),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'resolved', 'escalated', 'requesting_escalation', 'abandoned', 'archived')",
            name=op.f("ck_sessions_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sessions_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index("ix_sessions_account_activity", "sessions", ["account_id", "last_activity_at", "id"], unique=False)
    op.create_index("ix_sessions_external_refs", "sessions", ["external_refs"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_sessions_organization_id"), "sessions", ["organization_id"], unique=False)
    op.create_index(op.f("ix_sessions_subject_id"), "sessions", ["subject_id"], unique=False)
    op.create_table(
        "chats",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("model_id", sa.Text(), nullable=True),
        sa.Column("active_turn_id", sa.UUID(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_chats_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_chats_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
    )
    op.create_index("ix_chats_account_updated", "chats", ["account_id", "updated_at", "id"], unique=False)
    op.create_index(op.f("ix_chats_session_id"), "chats", ["session_id"], unique=False)
    op.create_table(
        "chat_reads",
        sa.Column("chat_id", sa.Text(), nullable=False),
        sa.Column("reader_id", sa.Text(), nullable=False),
        sa.Column("last_read_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_chat_reads_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("chat_id", "reader_id", name=op.f("pk_chat_reads")),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("chat_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("trigger", sa.Text(), server_default="submit-message", nullable=False),
        sa.Column("model_id", sa.Text(), nullable=True),
        sa.Column("user_message_id", sa.Text(), nullable=True),
        sa.Column("assistant_message_id", sa.Text(), nullable=True),
        sa.Column("finish_reason", sa.Text(), nullable=True),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("step_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_token_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'waiting', 'completed', 'stopped', 'failed')",
            name=op.f("ck_turns_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_turns_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("fk_turns_chat_id_chats"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_turns_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
        sa.UniqueConstraint("chat_id", "number", name=op.f("uq_turns_chat_id_number")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_turns_workflow_id")),
    )
    op.create_index(op.f("ix_turns_account_id"), "turns", ["account_id"], unique=False)
    op.create_index("ix_turns_finished_at", "turns", ["finished_at"], unique=False)
    op.create_index(op.f("ix_turns_session_id"), "turns", ["session_id"], unique=False)
    # chats and turns point at each other; this edge is added once both exist.
    op.create_foreign_key(
        op.f("fk_chats_active_turn_id_turns"),
        "chats",
        "turns",
        ["active_turn_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_table(
        "chat_messages",
        sa.Column("chat_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column(
            "parts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("status", sa.Text(), server_default="complete", nullable=False),
        sa.Column("turn_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('system', 'user', 'assistant')", name=op.f("ck_chat_messages_role_valid")),
        sa.CheckConstraint(
            "status IN ('complete', 'streaming', 'stopped', 'failed')",
            name=op.f("ck_chat_messages_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_chat_messages_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_chat_messages_turn_id_turns"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("chat_id", "id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("chat_id", "seq", name=op.f("uq_chat_messages_chat_id_seq")),
    )
    op.create_table(
        "turn_events",
        sa.Column("turn_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_turn_events_turn_id_turns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("turn_id", "seq", name=op.f("pk_turn_events")),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("turn_id", sa.UUID(), nullable=True),
        sa.Column("session_id", sa.UUID(), nullable=True),
        sa.Column("chat_id", sa.Text(), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("agent_type", sa.Text(), server_default="main", nullable=False),
        sa.Column("tool_call_id", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=14, scale=6), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("agent_type IN ('main', 'subagent')", name=op.f("ck_usage_events_agent_type_valid")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_usage_events_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_usage_events_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_usage_events_turn_id_turns"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_usage_events_dedupe_key")),
    )
    op.create_index("ix_usage_events_account_created", "usage_events", ["account_id", "created_at"], unique=False)
    op.create_index(op.f("ix_usage_events_session_id"), "usage_events", ["session_id"], unique=False)
    op.create_index(op.f("ix_usage_events_turn_id"), "usage_events", ["turn_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_usage_events_turn_id"), table_name="usage_events")
    op.drop_index(op.f("ix_usage_events_session_id"), table_name="usage_events")
    op.drop_index("ix_usage_events_account_created", table_name="usage_events")
    op.drop_table("usage_events")
    op.drop_table("turn_events")
    op.drop_table("chat_messages")
    op.drop_constraint(op.f("fk_chats_active_turn_id_turns"), "chats", type_="foreignkey")
    op.drop_index(op.f("ix_turns_session_id"), table_name="turns")
    op.drop_index("ix_turns_finished_at", table_name="turns")
    op.drop_index(op.f("ix_turns_account_id"), table_name="turns")
    op.drop_table("turns")
    op.drop_table("chat_reads")
    op.drop_index(op.f("ix_chats_session_id"), table_name="chats")
    op.drop_index("ix_chats_account_updated", table_name="chats")
    op.drop_table("chats")
    op.drop_index(op.f("ix_sessions_subject_id"), table_name="sessions")
    op.drop_index(op.f("ix_sessions_organization_id"), table_name="sessions")
    op.drop_index("ix_sessions_external_refs", table_name="sessions", postgresql_using="gin")
    op.drop_index("ix_sessions_account_activity", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_api_keys_account_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("accounts")
