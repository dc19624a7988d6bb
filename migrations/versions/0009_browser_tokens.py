"""Browser tokens: sessions owned by an end user (the token's subject), and a revoked API key announced on
pg_notify however it was revoked, so browser tokens signed for it stop working in every API process at once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("owner_subject", sa.Text(), nullable=True))
    op.create_index(
        op.f("ix_sessions_account_id_owner_subject"), "sessions", ["account_id", "owner_subject"], unique=False
    )
    op.execute(
        """
        CREATE FUNCTION notify_api_key_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('api_key_revoked', NEW.id::text);
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER api_key_revoked AFTER UPDATE OF revoked_at ON api_keys
        FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL)
        EXECUTE FUNCTION notify_api_key_revoked()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER api_key_revoked ON api_keys")
    op.execute("DROP FUNCTION notify_api_key_revoked()")
    op.drop_index(op.f("ix_sessions_account_id_owner_subject"), table_name="sessions")
    op.drop_column("sessions", "owner_subject")
