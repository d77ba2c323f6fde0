"""Outreach reach: subscriber areas, population denominators, knowledge-base feedback.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_subscribers") as batch_op:
        batch_op.add_column(sa.Column("province_code", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("commune_code", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_chat_subscribers_province_code"), ["province_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_subscribers_commune_code"), ["commune_code"], unique=False)
    op.create_table(
        "knowledge_feedback",
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("helped", sa.Integer(), nullable=False),
        sa.Column("not_helped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "language", name=op.f("pk_knowledge_feedback")),
    )
    op.create_table(
        "reach_populations",
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("area_code", sa.String(length=8), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_code"], ["areas.code"], name=op.f("fk_reach_populations_area_code_areas")
        ),
        sa.PrimaryKeyConstraint("audience", "area_code", name=op.f("pk_reach_populations")),
    )


def downgrade() -> None:
    op.drop_table("reach_populations")
    op.drop_table("knowledge_feedback")
    with op.batch_alter_table("chat_subscribers") as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_subscribers_commune_code"))
        batch_op.drop_index(batch_op.f("ix_chat_subscribers_province_code"))
        batch_op.drop_column("commune_code")
        batch_op.drop_column("province_code")
