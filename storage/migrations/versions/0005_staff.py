"""Staff workspace: server-side sessions, account lockout, TOTP replay protection, and the
folded tip text that the queue's diacritic-insensitive search reads, and the routing
policy table (filled with its defaults by `hotline db upgrade`, like the deadline policy),
and officers' notes on tips.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.text import fold
from storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tips") as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    _backfill_search_text()
    with op.batch_alter_table("officers") as batch_op:
        batch_op.add_column(sa.Column("locked_until", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "tip_notes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tip_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_notes_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_notes")),
    )
    with op.batch_alter_table("tip_notes") as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_notes_tip_id"), ["tip_id"], unique=False)
    op.create_table(
        "routing_rules",
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("agency_kind", sa.String(length=20), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_routing_rules")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name=op.f("fk_staff_sessions_officer_id_officers")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_staff_sessions")),
    )
    with op.batch_alter_table("staff_sessions") as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_officer_id"), ["officer_id"], unique=False)


def _backfill_search_text() -> None:
    """Fold the text of tips stored before this revision, a batch at a time by id."""
    conn = op.get_bind()
    tips = sa.table("tips", sa.column("id", sa.BigInteger()), sa.column("text", sa.Text()), sa.column("search_text", sa.Text()))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(tips.c.id, tips.c.text).where(tips.c.id > last).order_by(tips.c.id).limit(1000)
        ).all()
        if not rows:
            return
        conn.execute(
            tips.update().where(tips.c.id == sa.bindparam("tip_id")).values(search_text=sa.bindparam("folded")),
            [{"tip_id": r.id, "folded": fold(r.text)} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("staff_sessions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_officer_id"))
    op.drop_table("staff_sessions")
    op.drop_table("routing_rules")
    with op.batch_alter_table("tip_notes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_notes_tip_id"))
    op.drop_table("tip_notes")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): batch mode would copy and drop the
    # table, which SQLite refuses while other tables' rows refer to it.
    op.drop_column("officers", "totp_last_step")
    op.drop_column("officers", "locked_until")
    op.drop_column("tips", "search_text")
