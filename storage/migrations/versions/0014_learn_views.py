"""Public prevention pages: views per published item and day, a counter and nothing else.

`learn_views` (item_id, day) → views. The public item pages count views in memory and add
them here in batches with one upsert per item and day; no address, cookie or user agent
is stored anywhere. `day` is Viet Nam's date. The index on `day` serves the staff reach
page, which sums a period's views.

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learn_views",
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["outreach_items.id"], name=op.f("fk_learn_views_item_id_outreach_items")
        ),
        sa.PrimaryKeyConstraint("item_id", "day", name=op.f("pk_learn_views")),
    )
    op.create_index(op.f("ix_learn_views_day"), "learn_views", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_learn_views_day"), table_name="learn_views")
    op.drop_table("learn_views")
