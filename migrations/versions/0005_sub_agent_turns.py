"""Sub-agent turns: a `task` tool call runs as a turn of its own under its parent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 10:51:04.822694
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("turns", sa.Column("parent_turn_id", sa.UUID(), nullable=True))
    op.add_column("turns", sa.Column("agent_call_id", sa.Text(), nullable=True))
    op.alter_column("turns", "number", existing_type=sa.INTEGER(), nullable=True)
    op.create_index(op.f("ix_turns_parent_turn_id"), "turns", ["parent_turn_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_turns_parent_turn_id_turns"), "turns", "turns", ["parent_turn_id"], ["id"], ondelete="CASCADE"
    )


def downgrade() -> None:
    op.execute("DELETE FROM turns WHERE parent_turn_id IS NOT NULL")
    op.drop_constraint(op.f("fk_turns_parent_turn_id_turns"), "turns", type_="foreignkey")
    op.drop_index(op.f("ix_turns_parent_turn_id"), table_name="turns")
    op.alter_column("turns", "number", existing_type=sa.INTEGER(), nullable=False)
    op.drop_column("turns", "agent_call_id")
    op.drop_column("turns", "parent_turn_id")
