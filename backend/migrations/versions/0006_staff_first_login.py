"""staff: first login sets one's own password and TOTP secret (issue 8 item 12, A-01)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 10:00:00

Existing accounts are in use already: they are not asked again (``must_change_credentials`` false).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users') as batch:
        batch.add_column(sa.Column('must_change_credentials', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('totp_pending_enc', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('totp_pending_enc')
        batch.drop_column('must_change_credentials')
