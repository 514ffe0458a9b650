"""handoff pictures: an agent's message may be a picture (issue 10)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:30:00

``kind`` says what a handoff message is (``text`` for every row written before this revision);
a picture's bytes live in the encrypted file store under ``attachment_key`` (``attachment_type``
is its sniffed content type).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _new_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column('kind', sa.String(length=16), nullable=False, server_default='text'),
        sa.Column('attachment_key', sa.String(length=80), nullable=True),
        sa.Column('attachment_type', sa.String(length=32), nullable=True),
    ]


def upgrade() -> None:
    for column in _new_columns():
        op.add_column('handoff_messages', column)


def downgrade() -> None:
    with op.batch_alter_table('handoff_messages') as batch:
        for column in reversed(_new_columns()):
            batch.drop_column(column.name)
