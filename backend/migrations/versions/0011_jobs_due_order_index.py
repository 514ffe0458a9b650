"""jobs: the poller's due rows in claim order from the index (state, due_at, id)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 20:10:00

The poller takes the due ``pending`` rows ``ORDER BY due_at, id LIMIT n``. With an index on
``(state, due_at)`` only, PostgreSQL read every due row and sorted them all for each batch (a
sequential scan and an on-disk sort per claim: the cost of finding due notices grew with the square
of their number, ``tests/bench/bench_notices_due.py``). With ``id`` in the index the rows come out of
it in claim order and the scan stops after ``n``. It replaces ``ix_jobs_state_due_at`` (its prefix).
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs') as batch_op:
        batch_op.create_index('ix_jobs_state_due_at_id', ['state', 'due_at', 'id'], unique=False)
        batch_op.drop_index('ix_jobs_state_due_at')


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch_op:
        batch_op.create_index('ix_jobs_state_due_at', ['state', 'due_at'], unique=False)
        batch_op.drop_index('ix_jobs_state_due_at_id')
