"""handoff console: queue and SLA columns, conversation messages, agent profiles (issue 10)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 03:20:00

Requests queued before this revision get ``queued_at = created_at`` so the queue orders them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

def _new_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column('queued_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('priority', sa.Integer(), nullable=False, server_default='3'),
        sa.Column('skill_group', sa.String(length=16), nullable=False, server_default='general'),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('assigned_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('first_response_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('waiting_since', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('unread', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('closed_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('disposition', sa.String(length=32), nullable=True),
        sa.Column('close_summary_enc', sa.Text(), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.Column('rated_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('escalated', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('breached_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('told_low_s', sa.Integer(), nullable=True),
        sa.Column('told_high_s', sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    for column in _new_columns():
        op.add_column('handoff_requests', column)
    op.create_index(op.f('ix_handoff_requests_agent_id'), 'handoff_requests', ['agent_id'], unique=False)
    op.execute("UPDATE handoff_requests SET queued_at = created_at WHERE queued_at IS NULL")
    op.create_table('handoff_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('text_enc', sa.Text(), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('delivery_error', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_messages'))
    )
    op.create_index(op.f('ix_handoff_messages_handoff_id'), 'handoff_messages', ['handoff_id'], unique=False)
    op.create_table('agent_profiles',
    sa.Column('staff_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_agent_profiles'))
    )


def downgrade() -> None:
    op.drop_table('agent_profiles')
    op.drop_index(op.f('ix_handoff_messages_handoff_id'), table_name='handoff_messages')
    op.drop_table('handoff_messages')
    op.drop_index(op.f('ix_handoff_requests_agent_id'), table_name='handoff_requests')
    with op.batch_alter_table('handoff_requests') as batch:
        for column in reversed(_new_columns()):
            batch.drop_column(column.name)
