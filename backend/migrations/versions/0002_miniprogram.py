"""mini-program: customer accounts, delegations, idempotency keys, subscribe ledger, channel choices,
attachment size and checksum, complaint rating

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('wechat', sa.Boolean(), nullable=False),
    sa.Column('sms', sa.Boolean(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_preferences')),
    sa.UniqueConstraint('channel', 'openid', name=op.f('uq_channel_preferences_channel_openid'))
    )
    op.create_table('customer_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('unionid', sa.String(length=64), nullable=True),
    sa.Column('session_key_enc', sa.Text(), nullable=True),
    sa.Column('session_key_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('phone_bidx', sa.String(length=64), nullable=True),
    sa.Column('phone_verified_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_accounts')),
    sa.UniqueConstraint('channel', 'openid', name=op.f('uq_customer_accounts_channel_openid'))
    )
    op.create_index(op.f('ix_customer_accounts_phone_bidx'), 'customer_accounts', ['phone_bidx'], unique=False)
    op.create_index(op.f('ix_customer_accounts_unionid'), 'customer_accounts', ['unionid'], unique=False)
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('owner', 'key', name=op.f('uq_idempotency_keys_owner_key'))
    )
    op.create_index(op.f('ix_idempotency_keys_created_at'), 'idempotency_keys', ['created_at'], unique=False)
    op.create_table('subscription_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('always', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_choices')),
    sa.UniqueConstraint('channel', 'openid', 'template_id', name=op.f('uq_subscription_choices_channel_openid_template_id'))
    )
    op.create_table('subscription_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('granted_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('consumed_by', sa.String(length=128), nullable=True),
    sa.Column('voided_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_grants')),
    sa.UniqueConstraint('consumed_by', name=op.f('uq_subscription_grants_consumed_by'))
    )
    op.create_index('ix_subscription_grants_open', 'subscription_grants', ['channel', 'openid', 'template_id', 'consumed_at'], unique=False)
    op.create_table('delegations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('roster_person_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('insured_id_bidx', sa.String(length=64), nullable=False),
    sa.Column('insured_name_masked', sa.String(length=100), nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('proven_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('granted_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('granted_by', sa.String(length=100), nullable=True),
    sa.Column('revoked_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['customer_accounts.id'], name=op.f('fk_delegations_account_id_customer_accounts')),
    sa.ForeignKeyConstraint(['roster_person_id'], ['roster_people.id'], name=op.f('fk_delegations_roster_person_id_roster_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegations')),
    sa.UniqueConstraint('account_id', 'roster_person_id', name=op.f('uq_delegations_account_id_roster_person_id'))
    )
    op.create_index(op.f('ix_delegations_account_id'), 'delegations', ['account_id'], unique=False)
    op.create_index(op.f('ix_delegations_insured_id_bidx'), 'delegations', ['insured_id_bidx'], unique=False)
    op.create_index(op.f('ix_delegations_roster_person_id'), 'delegations', ['roster_person_id'], unique=False)
    op.add_column('claim_attachments', sa.Column('size_bytes', sa.BigInteger(), nullable=True))
    op.add_column('claim_attachments', sa.Column('sha256', sa.String(length=64), nullable=True))
    op.add_column('complaints', sa.Column('rating', sa.Integer(), nullable=True))
    op.add_column('complaints', sa.Column('rated_at', backend.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('rating_comment_enc', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('complaints', 'rating_comment_enc')
    op.drop_column('complaints', 'rated_at')
    op.drop_column('complaints', 'rating')
    op.drop_column('claim_attachments', 'sha256')
    op.drop_column('claim_attachments', 'size_bytes')
    op.drop_index(op.f('ix_delegations_roster_person_id'), table_name='delegations')
    op.drop_index(op.f('ix_delegations_insured_id_bidx'), table_name='delegations')
    op.drop_index(op.f('ix_delegations_account_id'), table_name='delegations')
    op.drop_table('delegations')
    op.drop_index('ix_subscription_grants_open', table_name='subscription_grants')
    op.drop_table('subscription_grants')
    op.drop_table('subscription_choices')
    op.drop_index(op.f('ix_idempotency_keys_created_at'), table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_index(op.f('ix_customer_accounts_unionid'), table_name='customer_accounts')
    op.drop_index(op.f('ix_customer_accounts_phone_bidx'), table_name='customer_accounts')
    op.drop_table('customer_accounts')
    op.drop_table('channel_preferences')
