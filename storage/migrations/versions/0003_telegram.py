"""telegram: subscribers and reply-notice consents, chat ids encrypted

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_subscribers",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_hash", sa.String(length=64), nullable=False),
        sa.Column("chat_cipher", sa.String(length=255), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("subscribed_at", UTCDateTime(), nullable=False),
        sa.Column("unsubscribed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_subscribers")),
        sa.UniqueConstraint("chat_hash", name=op.f("uq_chat_subscribers_chat_hash")),
    )
    with op.batch_alter_table("chat_subscribers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_subscribers_audience"), ["audience"], unique=False)

    op.create_table(
        "chat_notices",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tip_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_hash", sa.String(length=64), nullable=False),
        sa.Column("chat_cipher", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("notified_message_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_chat_notices_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_notices")),
        sa.UniqueConstraint("tip_id", "chat_hash", name="uq_chat_notices_tip_id_chat_hash"),
    )
    with op.batch_alter_table("chat_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_notices_chat_hash"), ["chat_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_notices_tip_id"), ["tip_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_notices_tip_id"))
        batch_op.drop_index(batch_op.f("ix_chat_notices_chat_hash"))
    op.drop_table("chat_notices")
    with op.batch_alter_table("chat_subscribers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_subscribers_audience"))
    op.drop_table("chat_subscribers")
