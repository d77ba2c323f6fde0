"""Staff workspace: notifications of tips to agencies that do not own them
(the Department of Health of trafficking and minor tips).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tip_notifications",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tip_id", BIG_ID, nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_notifications_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_notifications")),
        sa.UniqueConstraint("tip_id", "agency_code", name="uq_tip_notifications_tip_agency"),
    )
    with op.batch_alter_table("tip_notifications") as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_notifications_tip_id"), ["tip_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tip_notifications_agency_code"), ["agency_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tip_notifications") as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_notifications_agency_code"))
        batch_op.drop_index(batch_op.f("ix_tip_notifications_tip_id"))
    op.drop_table("tip_notifications")
