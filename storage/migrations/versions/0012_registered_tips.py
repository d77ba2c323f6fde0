"""Tips officers register for someone (phone, in person, letter, tip box, forwarded) or
import from their registers, and named informants' identities, stored only encrypted.

- `tip_registrations`: one row per registered or imported tip: the unit that entered it,
  who, when, why late (when the tip was received more than a day before), the forwarding
  body, and the register's own reference (unique per unit: imports are idempotent).
- `tip_informants`: name, phone and address of an informant who gave them, each value
  AES-GCM encrypted under a per-tip data key that is itself stored only wrapped by the
  master key (kept outside the database).

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0012"
down_revision = "0015"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tip_registrations",
        sa.Column("tip_id", BIG_ID, nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("late_reason", sa.Text(), nullable=True),
        sa.Column("forwarded_by", sa.String(length=200), nullable=True),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_registrations_tip_id_tips")),
        sa.PrimaryKeyConstraint("tip_id", name=op.f("pk_tip_registrations")),
        sa.UniqueConstraint("unit", "external_ref", name="uq_tip_registrations_unit_external_ref"),
    )
    op.create_table(
        "tip_informants",
        sa.Column("tip_id", BIG_ID, nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("address", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_informants_tip_id_tips")),
        sa.PrimaryKeyConstraint("tip_id", name=op.f("pk_tip_informants")),
    )


def downgrade() -> None:
    op.drop_table("tip_informants")
    op.drop_table("tip_registrations")
