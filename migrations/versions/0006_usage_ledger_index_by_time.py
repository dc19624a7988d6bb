"""An index for the spend digest, which sums one time window across all accounts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 11:19:09.718601
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_usage_events_created", "usage_events", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_usage_events_created", table_name="usage_events")
