"""Support cases with their messages, events and referrals, the service directory,
training records with staff counts, and offline outreach activities.

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-02 07:18:03.112029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0018"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_counts",
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("staff", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agency_code", "level", name=op.f("pk_staff_counts")),
    )
    op.create_table(
        "support_providers",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kinds", sa.String(length=200), nullable=False),
        sa.Column("communes", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=False),
        sa.Column("free", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_providers")),
        sa.UniqueConstraint("name", name="uq_support_providers_name"),
    )
    op.create_table(
        "training_sessions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
    )
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_sessions_held_on"), ["held_on"], unique=False)

    op.create_table(
        "outreach_activities",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("commune_code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("audience", sa.String(length=60), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_code"], ["areas.code"], name=op.f("fk_outreach_activities_commune_code_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_activities")),
    )
    with op.batch_alter_table("outreach_activities", schema=None) as batch_op:
        batch_op.create_index("ix_outreach_activities_held", ["held_on", "commune_code"], unique=False)

    op.create_table(
        "support_cases",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("receipt_code", sa.String(length=10), nullable=False),
        sa.Column("passphrase_hash", sa.String(length=255), nullable=False),
        sa.Column("commune_code", sa.String(length=8), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("kinds", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("assessed", sa.Boolean(), nullable=False),
        sa.Column("served", sa.Boolean(), nullable=False),
        sa.Column("contact_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_contact_due", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_contact_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["commune_code"], ["areas.code"], name=op.f("fk_support_cases_commune_code_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_cases")),
        sa.UniqueConstraint("receipt_code", name=op.f("uq_support_cases_receipt_code")),
    )
    with op.batch_alter_table("support_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_cases_commune_code"), ["commune_code"], unique=False)
        batch_op.create_index(
            "ix_support_cases_province_received", ["province_code", "received_at"], unique=False
        )

    op.create_table(
        "training_attendance",
        sa.Column("session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.id"],
            name=op.f("fk_training_attendance_session_id_training_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "agency_code", name=op.f("pk_training_attendance")),
    )
    op.create_table(
        "support_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["support_cases.id"], name=op.f("fk_support_events_case_id_support_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_events")),
    )
    with op.batch_alter_table("support_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "support_messages",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["support_cases.id"], name=op.f("fk_support_messages_case_id_support_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
    )
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_messages_case_id"), ["case_id"], unique=False)

    op.create_table(
        "support_referrals",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kinds", sa.String(length=200), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("outcome_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["support_cases.id"], name=op.f("fk_support_referrals_case_id_support_cases")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["support_providers.id"],
            name=op.f("fk_support_referrals_provider_id_support_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_referrals")),
    )
    with op.batch_alter_table("support_referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_referrals_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("support_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_referrals_case_id"))

    op.drop_table("support_referrals")
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_messages_case_id"))

    op.drop_table("support_messages")
    with op.batch_alter_table("support_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_events_case_id"))

    op.drop_table("support_events")
    op.drop_table("training_attendance")
    with op.batch_alter_table("support_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_support_cases_province_received")
        batch_op.drop_index(batch_op.f("ix_support_cases_commune_code"))

    op.drop_table("support_cases")
    with op.batch_alter_table("outreach_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_outreach_activities_held")

    op.drop_table("outreach_activities")
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_sessions_held_on"))

    op.drop_table("training_sessions")
    op.drop_table("support_providers")
    op.drop_table("staff_counts")
