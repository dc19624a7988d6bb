"""The attempt that owns a turn's stream: a superseded model-step attempt can no longer append to the log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("turns", sa.Column("stream_owner", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("turns", "stream_owner")
