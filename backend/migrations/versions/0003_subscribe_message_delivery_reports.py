"""subscribe-message delivery reports: WeChat's subscribe_msg_sent_event, with the grant each settled

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subscription_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('msgid', sa.String(length=64), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('received_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['subscription_grants.id'], name=op.f('fk_subscription_deliveries_grant_id_subscription_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_deliveries')),
    sa.UniqueConstraint('grant_id', name=op.f('uq_subscription_deliveries_grant_id')),
    sa.UniqueConstraint('msgid', name=op.f('uq_subscription_deliveries_msgid'))
    )


def downgrade() -> None:
    op.drop_table('subscription_deliveries')
