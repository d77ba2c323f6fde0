"""Triage proposals stored with each tip, and officers' decisions on them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tips") as batch_op:
        batch_op.add_column(sa.Column("triage", sa.JSON(), nullable=True))
    op.create_table(
        "triage_decisions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tip_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("proposed", sa.String(length=64), nullable=True),
        sa.Column("decided", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_triage_decisions_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_decisions")),
    )
    with op.batch_alter_table("triage_decisions") as batch_op:
        batch_op.create_index(batch_op.f("ix_triage_decisions_tip_id"), ["tip_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("triage_decisions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_triage_decisions_tip_id"))
    op.drop_table("triage_decisions")
    with op.batch_alter_table("tips") as batch_op:
        batch_op.drop_column("triage")
