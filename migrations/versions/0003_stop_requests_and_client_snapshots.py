"""When a stop was asked for, and the partial answer the client sent with it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 10:19:08.321649
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("turns", sa.Column("stop_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("turns", sa.Column("client_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("turns", "client_snapshot")
    op.drop_column("turns", "stop_requested_at")
