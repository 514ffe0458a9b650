"""claim approvals: amounts checked against the product, second approver (issue 8 item 6)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 12:00:00

Claims approved before this revision have no approval row: paying them still needs someone other than
the actor of their transition to approved (``backend.claims.workflow.approver_of``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('claim_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('claim_version', sa.Integer(), nullable=False),
    sa.Column('benefit', sa.String(length=32), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('computed_fen', sa.BigInteger(), nullable=False),
    sa.Column('ceiling_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('allowance_days', sa.Integer(), nullable=True),
    sa.Column('policy_year', sa.Integer(), nullable=True),
    sa.Column('over_reason_enc', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('proposed_by', sa.String(length=100), nullable=False),
    sa.Column('proposed_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('second_approver', sa.String(length=100), nullable=True),
    sa.Column('decided_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_approvals_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_approvals'))
    )
    op.create_index(op.f('ix_claim_approvals_claim_id'), 'claim_approvals', ['claim_id'], unique=False)
    op.create_index(op.f('ix_claim_approvals_status'), 'claim_approvals', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_claim_approvals_status'), table_name='claim_approvals')
    op.drop_index(op.f('ix_claim_approvals_claim_id'), table_name='claim_approvals')
    op.drop_table('claim_approvals')
