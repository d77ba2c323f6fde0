"""Youth outreach: content library, campaigns, per-recipient deliveries.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outreach_items",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("image", sa.String(length=500), nullable=True),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=80), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=80), nullable=True),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.Column("retired_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_items")),
        sa.UniqueConstraint("group_key", "language", name="uq_outreach_items_group_key_language"),
    )
    op.create_index(op.f("ix_outreach_items_audience"), "outreach_items", ["audience"])
    op.create_index(op.f("ix_outreach_items_state"), "outreach_items", ["state"])
    op.create_table(
        "outreach_campaigns",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("area_code", sa.String(length=8), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["outreach_items.id"], name=op.f("fk_outreach_campaigns_item_id_outreach_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_campaigns")),
    )
    op.create_index(op.f("ix_outreach_campaigns_item_id"), "outreach_campaigns", ["item_id"])
    op.create_index(op.f("ix_outreach_campaigns_state"), "outreach_campaigns", ["state"])
    op.create_table(
        "outreach_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("subscriber_id", _ID, nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["outreach_campaigns.id"],
            name=op.f("fk_outreach_deliveries_campaign_id_outreach_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_deliveries")),
        sa.UniqueConstraint(
            "group_key", "subscriber_id", name="uq_outreach_deliveries_group_key_subscriber_id"
        ),
    )
    op.create_index(
        "ix_outreach_deliveries_campaign_state", "outreach_deliveries", ["campaign_id", "state", "id"]
    )
    op.create_index(
        "ix_outreach_deliveries_subscriber_finished", "outreach_deliveries", ["subscriber_id", "finished_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_outreach_deliveries_subscriber_finished", table_name="outreach_deliveries")
    op.drop_index("ix_outreach_deliveries_campaign_state", table_name="outreach_deliveries")
    op.drop_table("outreach_deliveries")
    op.drop_index(op.f("ix_outreach_campaigns_state"), table_name="outreach_campaigns")
    op.drop_index(op.f("ix_outreach_campaigns_item_id"), table_name="outreach_campaigns")
    op.drop_table("outreach_campaigns")
    op.drop_index(op.f("ix_outreach_items_state"), table_name="outreach_items")
    op.drop_index(op.f("ix_outreach_items_audience"), table_name="outreach_items")
    op.drop_table("outreach_items")
