"""baseline schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21 23:04:50.643076
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# The audit log is append-only (catalogue A-04): copied from backend/audit/models.py at the time of
# this revision, which attaches the same SQL to metadata.create_all.
_PG_AUDIT_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_records_refuse_change() RETURNS trigger\nLANGUAGE plpgsql AS $audit$\nBEGIN\n    RAISE EXCEPTION 'audit_records is append-only: % refused', TG_OP\n        USING ERRCODE = 'insufficient_privilege';\nEND;\n$audit$",
    'CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_records_refuse_change()',
    'CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_records_refuse_change()',
    'CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records FOR EACH STATEMENT EXECUTE FUNCTION audit_records_refuse_change()',
)

_SQLITE_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table('anonymisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=24), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anonymisations')),
    sa.UniqueConstraint('object_type', 'object_id', name=op.f('uq_anonymisations_object_type_object_id'))
    )
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('audit_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('purpose', sa.String(length=500), nullable=True),
    sa.Column('result', sa.String(length=32), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_records_hash')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_records_seq'))
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_records_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_records_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_records_at'), ['at'], unique=False)

    op.create_table('case_counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=4), nullable=False),
    sa.Column('day', sa.String(length=6), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_counters')),
    sa.UniqueConstraint('prefix', 'day', name=op.f('uq_case_counters_prefix_day'))
    )
    op.create_table('claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_no', sa.String(length=16), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('claim_type', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('insured_name_enc', sa.Text(), nullable=True),
    sa.Column('insured_name_masked', sa.String(length=100), nullable=False),
    sa.Column('insured_id_enc', sa.Text(), nullable=True),
    sa.Column('insured_id_bidx', sa.String(length=64), nullable=True),
    sa.Column('roster_person_id', sa.Integer(), nullable=True),
    sa.Column('reporter_relation', sa.String(length=32), nullable=False),
    sa.Column('reporter_phone_enc', sa.Text(), nullable=True),
    sa.Column('reporter_phone_bidx', sa.String(length=64), nullable=True),
    sa.Column('reporter_openid', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('accident_date', sa.Date(), nullable=False),
    sa.Column('accident_type', sa.String(length=64), nullable=False),
    sa.Column('place_enc', sa.Text(), nullable=True),
    sa.Column('hospital_enc', sa.Text(), nullable=True),
    sa.Column('description_enc', sa.Text(), nullable=False),
    sa.Column('bank_account_enc', sa.Text(), nullable=True),
    sa.Column('bank_holder_name_enc', sa.Text(), nullable=True),
    sa.Column('beneficiary_name_enc', sa.Text(), nullable=True),
    sa.Column('bank_name_mismatch', sa.Boolean(), nullable=False),
    sa.Column('is_complex', sa.Boolean(), nullable=False),
    sa.Column('complex_reason_enc', sa.Text(), nullable=True),
    sa.Column('claimed_amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('approved_amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('paid_amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('reported_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_started_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('anonymised_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline_kind', sa.String(length=24), nullable=True),
    sa.Column('deadline_date', sa.Date(), nullable=True),
    sa.Column('deadline_provisional', sa.Boolean(), nullable=False),
    sa.Column('due_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline_base', sa.Date(), nullable=True),
    sa.Column('deadline_working_days', sa.Integer(), nullable=True),
    sa.Column('standards', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims')),
    sa.UniqueConstraint('case_no', name=op.f('uq_claims_case_no')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_claims_idempotency_key'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_anonymised_at'), ['anonymised_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_deadline_provisional'), ['deadline_provisional'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_insured_id_bidx'), ['insured_id_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_reporter_openid'), ['reporter_openid'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_reporter_phone_bidx'), ['reporter_phone_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_roster_person_id'), ['roster_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_state'), ['state'], unique=False)

    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_no', sa.String(length=16), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('complainant_name_enc', sa.Text(), nullable=True),
    sa.Column('complainant_name_masked', sa.String(length=100), nullable=False),
    sa.Column('contact_phone_enc', sa.Text(), nullable=False),
    sa.Column('contact_phone_bidx', sa.String(length=64), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=True),
    sa.Column('related_case_no', sa.String(length=16), nullable=True),
    sa.Column('content_enc', sa.Text(), nullable=False),
    sa.Column('response_enc', sa.Text(), nullable=True),
    sa.Column('standards', sa.JSON(), nullable=False),
    sa.Column('received_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ack_due_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
    sa.Column('resolution_due_date', sa.Date(), nullable=False),
    sa.Column('resolution_due_provisional', sa.Boolean(), nullable=False),
    sa.Column('resolution_base', sa.Date(), nullable=False),
    sa.Column('resolution_working_days', sa.Integer(), nullable=False),
    sa.Column('responded_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_kind', sa.String(length=16), nullable=True),
    sa.Column('followup_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('followup_by', sa.String(length=100), nullable=True),
    sa.Column('followup_result_enc', sa.Text(), nullable=True),
    sa.Column('followup_satisfied', sa.Boolean(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('complaint_no', name=op.f('uq_complaints_complaint_no'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_contact_phone_bidx'), ['contact_phone_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_openid'), ['openid'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_related_case_no'), ['related_case_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_resolution_due_provisional'), ['resolution_due_provisional'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_state'), ['state'], unique=False)

    op.create_table('conversation_turns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('msg_key', sa.String(length=128), nullable=True),
    sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=32), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('slots', sa.JSON(), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=True),
    sa.Column('step', sa.String(length=32), nullable=True),
    sa.Column('reply_text', sa.Text(), nullable=False),
    sa.Column('degraded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_turns')),
    sa.UniqueConstraint('channel', 'user_id', 'msg_key', name=op.f('uq_conversation_turns_channel_user_id_msg_key'))
    )
    with op.batch_alter_table('conversation_turns', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_turns_user', ['channel', 'user_id', 'at'], unique=False)

    op.create_table('handoff_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('payload_enc', sa.Text(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_requests'))
    )
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_requests_status'), ['status'], unique=False)
        batch_op.create_index('ix_handoff_requests_user_status', ['channel', 'user_id', 'status'], unique=False)

    op.create_table('home_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_no', sa.String(length=16), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name_enc', sa.Text(), nullable=True),
    sa.Column('name_masked', sa.String(length=100), nullable=False),
    sa.Column('phone_enc', sa.Text(), nullable=False),
    sa.Column('phone_bidx', sa.String(length=64), nullable=False),
    sa.Column('address_enc', sa.Text(), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('purpose_enc', sa.Text(), nullable=False),
    sa.Column('related_case_no', sa.String(length=16), nullable=True),
    sa.Column('requested_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('contact_due_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('visit_due_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('contacted_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('contacted_by', sa.String(length=100), nullable=True),
    sa.Column('visited_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('visited_by', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('note_enc', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_home_visits')),
    sa.UniqueConstraint('visit_no', name=op.f('uq_home_visits_visit_no'))
    )
    with op.batch_alter_table('home_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_visits_contact_due_at'), ['contact_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_visits_openid'), ['openid'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_visits_phone_bidx'), ['phone_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_visits_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_visits_visit_due_at'), ['visit_due_at'], unique=False)

    op.create_table('roster_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('encoding', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('imported_new', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('rejections', sa.JSON(), nullable=False),
    sa.Column('started_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_imports'))
    )
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_imports_file_sha256'), ['file_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_imports_product_id'), ['product_id'], unique=False)

    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('password_changed_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('totp_secret_enc', sa.String(length=255), nullable=False),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_users_username'))
    )
    op.create_table('wechat_inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('msg_key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('msg_type', sa.String(length=32), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=True),
    sa.Column('received_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('content_enc', sa.Text(), nullable=True),
    sa.Column('reply_enc', sa.Text(), nullable=True),
    sa.Column('completed_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_inbox')),
    sa.UniqueConstraint('msg_key', name=op.f('uq_wechat_inbox_msg_key'))
    )
    with op.batch_alter_table('wechat_inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_inbox_openid'), ['openid'], unique=False)

    op.create_table('wechat_template_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_msgid', sa.String(length=32), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('received_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_template_receipts')),
    sa.UniqueConstraint('template_msgid', name=op.f('uq_wechat_template_receipts_template_msgid'))
    )
    op.create_table('wechat_unreachable',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=False),
    sa.Column('recorded_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_unreachable'))
    )
    with op.batch_alter_table('wechat_unreachable', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_unreachable_openid'), ['openid'], unique=False)

    op.create_table('claim_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('media_id', sa.String(length=128), nullable=True),
    sa.Column('storage_key', sa.String(length=200), nullable=True),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('received_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_attachments_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_attachments')),
    sa.UniqueConstraint('channel', 'media_id', name=op.f('uq_claim_attachments_channel_media_id'))
    )
    with op.batch_alter_table('claim_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_attachments_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_attachments_status'), ['status'], unique=False)

    op.create_table('claim_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('claim_version', sa.Integer(), nullable=False),
    sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=True),
    sa.Column('reason_enc', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_events_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_events'))
    )
    with op.batch_alter_table('claim_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_events_claim_id'), ['claim_id'], unique=False)

    op.create_table('claim_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('received', sa.Boolean(), nullable=False),
    sa.Column('marked_by', sa.String(length=100), nullable=True),
    sa.Column('marked_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_materials_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_materials')),
    sa.UniqueConstraint('claim_id', 'material_id', name=op.f('uq_claim_materials_claim_id_material_id'))
    )
    with op.batch_alter_table('claim_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_materials_claim_id'), ['claim_id'], unique=False)

    op.create_table('complaint_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('complaint_version', sa.Integer(), nullable=False),
    sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=True),
    sa.Column('reason_enc', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_events_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_events'))
    )
    with op.batch_alter_table('complaint_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_events_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('consent_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('text_version', sa.String(length=64), nullable=False),
    sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=True),
    sa.Column('id_bidx', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_consent_events_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_events'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_events_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_consent_events_subject_id', ['category', 'id_bidx'], unique=False)
        batch_op.create_index('ix_consent_events_subject_user', ['category', 'channel', 'user_id'], unique=False)

    op.create_table('roster_people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('id_number_enc', sa.Text(), nullable=False),
    sa.Column('id_number_bidx', sa.String(length=64), nullable=False),
    sa.Column('name_enc', sa.Text(), nullable=False),
    sa.Column('name_masked', sa.String(length=64), nullable=False),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('phone_bidx', sa.String(length=64), nullable=True),
    sa.Column('address_enc', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=False),
    sa.Column('cover_start', sa.Date(), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.Column('first_import_id', sa.Integer(), nullable=False),
    sa.Column('last_import_id', sa.Integer(), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['first_import_id'], ['roster_imports.id'], name=op.f('fk_roster_people_first_import_id_roster_imports')),
    sa.ForeignKeyConstraint(['last_import_id'], ['roster_imports.id'], name=op.f('fk_roster_people_last_import_id_roster_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_people')),
    sa.UniqueConstraint('product_id', 'id_number_bidx', name=op.f('uq_roster_people_product_id_id_number_bidx'))
    )
    with op.batch_alter_table('roster_people', schema=None) as batch_op:
        batch_op.create_index('ix_roster_people_product_id_phone_bidx', ['product_id', 'phone_bidx'], unique=False)

    op.create_table('staff_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_staff_sessions_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_sessions_token_hash'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_staff_id'), ['staff_id'], unique=False)

    dialect = op.get_bind().dialect.name
    triggers = {"postgresql": _PG_AUDIT_TRIGGERS, "sqlite": _SQLITE_AUDIT_TRIGGERS}.get(dialect, ())
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_records_refuse_change() CASCADE")
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_staff_id'))

    op.drop_table('staff_sessions')
    with op.batch_alter_table('roster_people', schema=None) as batch_op:
        batch_op.drop_index('ix_roster_people_product_id_phone_bidx')

    op.drop_table('roster_people')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_events_subject_user')
        batch_op.drop_index('ix_consent_events_subject_id')
        batch_op.drop_index(batch_op.f('ix_consent_events_claim_id'))

    op.drop_table('consent_events')
    with op.batch_alter_table('complaint_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_events_complaint_id'))

    op.drop_table('complaint_events')
    with op.batch_alter_table('claim_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_materials_claim_id'))

    op.drop_table('claim_materials')
    with op.batch_alter_table('claim_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_events_claim_id'))

    op.drop_table('claim_events')
    with op.batch_alter_table('claim_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_attachments_status'))
        batch_op.drop_index(batch_op.f('ix_claim_attachments_claim_id'))

    op.drop_table('claim_attachments')
    with op.batch_alter_table('wechat_unreachable', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_unreachable_openid'))

    op.drop_table('wechat_unreachable')
    op.drop_table('wechat_template_receipts')
    with op.batch_alter_table('wechat_inbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_inbox_openid'))

    op.drop_table('wechat_inbox')
    op.drop_table('staff_users')
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_imports_product_id'))
        batch_op.drop_index(batch_op.f('ix_roster_imports_file_sha256'))

    op.drop_table('roster_imports')
    with op.batch_alter_table('home_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_visits_visit_due_at'))
        batch_op.drop_index(batch_op.f('ix_home_visits_state'))
        batch_op.drop_index(batch_op.f('ix_home_visits_phone_bidx'))
        batch_op.drop_index(batch_op.f('ix_home_visits_openid'))
        batch_op.drop_index(batch_op.f('ix_home_visits_contact_due_at'))

    op.drop_table('home_visits')
    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_handoff_requests_user_status')
        batch_op.drop_index(batch_op.f('ix_handoff_requests_status'))

    op.drop_table('handoff_requests')
    with op.batch_alter_table('conversation_turns', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_turns_user')

    op.drop_table('conversation_turns')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_state'))
        batch_op.drop_index(batch_op.f('ix_complaints_resolution_due_provisional'))
        batch_op.drop_index(batch_op.f('ix_complaints_related_case_no'))
        batch_op.drop_index(batch_op.f('ix_complaints_openid'))
        batch_op.drop_index(batch_op.f('ix_complaints_due_at'))
        batch_op.drop_index(batch_op.f('ix_complaints_contact_phone_bidx'))

    op.drop_table('complaints')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_state'))
        batch_op.drop_index(batch_op.f('ix_claims_roster_person_id'))
        batch_op.drop_index(batch_op.f('ix_claims_reporter_phone_bidx'))
        batch_op.drop_index(batch_op.f('ix_claims_reporter_openid'))
        batch_op.drop_index(batch_op.f('ix_claims_insured_id_bidx'))
        batch_op.drop_index(batch_op.f('ix_claims_due_at'))
        batch_op.drop_index(batch_op.f('ix_claims_deadline_provisional'))
        batch_op.drop_index(batch_op.f('ix_claims_anonymised_at'))

    op.drop_table('claims')
    op.drop_table('case_counters')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_records_at'))
        batch_op.drop_index(batch_op.f('ix_audit_records_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_records_action'))

    op.drop_table('audit_records')
    op.drop_table('audit_chain_head')
    op.drop_table('anonymisations')
