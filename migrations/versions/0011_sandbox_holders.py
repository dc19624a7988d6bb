"""Which worker holds a session's sandbox, and on which workspace root its files were last made ready, so a
session's tool calls reach the worker that has its files and a session whose worker is gone is restored elsewhere.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("sandbox_worker_id", sa.Uuid(), nullable=True))
    op.add_column("sessions", sa.Column("sandbox_root_id", sa.Text(), nullable=True))
    op.create_index(
        "ix_sessions_sandbox_worker_id",
        "sessions",
        ["sandbox_worker_id"],
        postgresql_where=sa.text("sandbox_worker_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_sandbox_worker_id", table_name="sessions")
    op.drop_column("sessions", "sandbox_root_id")
    op.drop_column("sessions", "sandbox_worker_id")
