"""Retention rules as data, and the mark of a forgotten tip.

- `retention_rules`: days after closing that a kind of a tip's data (content, chat
  links, a named informant) is kept, by outcome and category ('*' for any); NULL days
  means the deployment's processed-records period (HOTLINE_RETENTION_PROCESSED_YEARS).
  Seeded with the defaults of core/retention.py.
- `tips.forgotten_at`: when the content was forgotten; an index on (stage, forgotten_at, id)
  lets the daily run find closed tips that still hold content without a full scan.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: The defaults as they were when this migration was written (core.retention.DEFAULT_RULES).
DEFAULTS = (
    ("content", "spam", "*", 90),
    ("content", "unfounded", "*", 90),
    ("content", "processed", "*", None),
    ("content", "duplicate", "*", None),
    ("chats", "*", "*", 0),
    ("informant", "*", "*", None),
)


def upgrade() -> None:
    rules = op.create_table(
        "retention_rules",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("data", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_rules")),
        sa.UniqueConstraint("data", "outcome", "category", name="uq_retention_rules_data_outcome_category"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        rules,
        [
            {"data": d, "outcome": o, "category": c, "days": n, "updated_at": now, "updated_by": "migration"}
            for d, o, c, n in DEFAULTS
        ],
    )
    op.add_column("tips", sa.Column("forgotten_at", UTCDateTime(), nullable=True))
    op.create_index("ix_tips_stage_forgotten", "tips", ["stage", "forgotten_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tips_stage_forgotten", table_name="tips")
    op.drop_column("tips", "forgotten_at")
    op.drop_table("retention_rules")
