"""Each worker's database session and the activity attempts it runs, so survivors fail a dead worker's attempts
at once instead of waiting for their heartbeat timeout.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("backend_pid", sa.Integer(), nullable=False),
        sa.Column("backend_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_queue", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_sessions")),
    )
    op.create_table(
        "worker_attempts",
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("task_token", postgresql.BYTEA(), nullable=False),
        sa.Column("activity", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["worker_sessions.id"],
            name=op.f("fk_worker_attempts_worker_id_worker_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("worker_id", "task_token", name=op.f("pk_worker_attempts")),
    )


def downgrade() -> None:
    op.drop_table("worker_attempts")
    op.drop_table("worker_sessions")
