"""chat texts encrypted: conversation turns' user and reply texts, handoff summaries (issue 8 item 7, D-01)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 11:00:00

The existing rows are encrypted by this migration, in batches, with the active field key of the
service's keyring (``backend.migrate.upgrade_to_head`` hands the runtime's cipher in; a bare ``alembic
upgrade`` builds it from the environment's settings). Then the clear columns are dropped. Handoff
requests keep a short snippet of their (already masked) summary for queue lists. Downgrading decrypts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The FieldCipher purposes at the time of this revision (backend/conversations/turn_models.py,
# backend/handoff/models.py).
USER_TEXT = "conversation_turns.user_text"
REPLY_TEXT = "conversation_turns.reply_text"
SUMMARY = "handoff.summary"
SNIPPET_CHARS = 16
BATCH = 1000


def _cipher() -> Any:
    cipher = context.config.attributes.get("cipher")
    if cipher is None:
        from backend.security.crypto import FieldCipher
        from config.settings import get_settings

        crypto = get_settings().crypto
        cipher = FieldCipher.from_config(keys_json=crypto.keys.get_secret_value(),
                                         active_key_id=crypto.active_key_id,
                                         blind_index_key=crypto.blind_index_key.get_secret_value())
    return cipher


def _snippet(masked: str) -> str:
    text = " ".join(masked.split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "…"


def _rewrite(table: str, source: tuple[str, ...], convert: Callable[[Any], dict[str, Any]]) -> None:
    """Walk ``table`` by id in batches and write ``convert(row)`` into each row (row has id + source)."""
    conn = op.get_bind()
    t = sa.table(table, sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in source))
    after = 0
    while True:
        rows = conn.execute(sa.select(t.c.id, *(t.c[c] for c in source)).where(t.c.id > after)
                            .order_by(t.c.id).limit(BATCH)).all()
        if not rows:
            return
        values = [{"row_id": row.id, **convert(row)} for row in rows]
        targets = [k for k in values[0] if k != "row_id"]
        out = sa.table(table, sa.column("id", sa.Integer), *(sa.column(c) for c in targets))
        conn.execute(out.update().where(out.c.id == sa.bindparam("row_id"))
                     .values({c: sa.bindparam(c) for c in targets}), values)
        after = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table('conversation_turns') as batch:
        batch.add_column(sa.Column('user_text_enc', sa.Text(), nullable=True))
        batch.add_column(sa.Column('reply_text_enc', sa.Text(), nullable=True))
    with op.batch_alter_table('handoff_requests') as batch:
        batch.add_column(sa.Column('summary_enc', sa.Text(), nullable=True))
        batch.add_column(sa.Column('summary_snippet', sa.String(length=40), nullable=False, server_default=''))
    conn = op.get_bind()
    turns = conn.execute(sa.text("SELECT count(*) FROM conversation_turns")).scalar()
    handoffs = conn.execute(sa.text("SELECT count(*) FROM handoff_requests")).scalar()
    if turns or handoffs:
        cipher = _cipher()

        def seal(value: str | None, purpose: str) -> str | None:
            return cipher.encrypt(value, purpose=purpose) if value else None

        _rewrite("conversation_turns", ("user_text", "reply_text"), lambda r: {
            "user_text_enc": seal(r.user_text, USER_TEXT), "reply_text_enc": seal(r.reply_text, REPLY_TEXT)})
        _rewrite("handoff_requests", ("summary",), lambda r: {
            "summary_enc": seal(r.summary, SUMMARY), "summary_snippet": _snippet(r.summary or "")})
    with op.batch_alter_table('conversation_turns') as batch:
        batch.drop_column('user_text')
        batch.drop_column('reply_text')
    with op.batch_alter_table('handoff_requests') as batch:
        batch.drop_column('summary')


def downgrade() -> None:
    with op.batch_alter_table('conversation_turns') as batch:
        batch.add_column(sa.Column('user_text', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('reply_text', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('handoff_requests') as batch:
        batch.add_column(sa.Column('summary', sa.Text(), nullable=False, server_default=''))
    cipher = _cipher()

    def clear(value: str | None, purpose: str) -> str:
        return cipher.decrypt(value, purpose=purpose) if value else ""

    _rewrite("conversation_turns", ("user_text_enc", "reply_text_enc"), lambda r: {
        "user_text": clear(r.user_text_enc, USER_TEXT), "reply_text": clear(r.reply_text_enc, REPLY_TEXT)})
    _rewrite("handoff_requests", ("summary_enc",), lambda r: {"summary": clear(r.summary_enc, SUMMARY)})
    with op.batch_alter_table('conversation_turns') as batch:
        batch.drop_column('user_text_enc')
        batch.drop_column('reply_text_enc')
    with op.batch_alter_table('handoff_requests') as batch:
        batch.drop_column('summary_snippet')
        batch.drop_column('summary_enc')
