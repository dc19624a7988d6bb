"""Per-step telemetry, shareable status updates, and tool calls that wait for the user.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 10:43:11.525526
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_status_updates",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_session_status_updates_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_status_updates_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_status_updates")),
    )
    op.create_index(
        op.f("ix_session_status_updates_session_id"), "session_status_updates", ["session_id"], unique=False
    )
    op.create_table(
        "turn_steps",
        sa.Column("turn_id", sa.UUID(), nullable=False),
        sa.Column("agent_call_id", sa.Text(), server_default="", nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("agent_type", sa.Text(), server_default="main", nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("finish_reason", sa.Text(), nullable=True),
        sa.Column("tool_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duration_ms", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("ttft_ms", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("outcome IN ('completed', 'stopped', 'failed')", name=op.f("ck_turn_steps_outcome_valid")),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_turn_steps_turn_id_turns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("turn_id", "agent_call_id", "step", "attempt", name=op.f("pk_turn_steps")),
    )
    op.create_index("ix_turn_steps_started", "turn_steps", ["started_at"], unique=False)
    op.drop_constraint(op.f("ck_tool_calls_status_valid"), "tool_calls", type_="check")
    op.create_check_constraint(
        op.f("ck_tool_calls_status_valid"),
        "tool_calls",
        "status IN ('pending', 'running', 'waiting', 'completed', 'failed')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_tool_calls_status_valid"), "tool_calls", type_="check")
    op.create_check_constraint(
        op.f("ck_tool_calls_status_valid"), "tool_calls", "status IN ('pending', 'running', 'completed', 'failed')"
    )
    op.drop_index("ix_turn_steps_started", table_name="turn_steps")
    op.drop_table("turn_steps")
    op.drop_index(op.f("ix_session_status_updates_session_id"), table_name="session_status_updates")
    op.drop_table("session_status_updates")
