"""Imported history counts as read: messages up to `chats.history_read_seq` are never unread, for any reader.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chats", sa.Column("history_read_seq", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("chats", "history_read_seq")
