"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("search_name", sa.String(length=120), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("division_type", sa.String(length=30), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["province_code"], ["areas.code"], name=op.f("fk_areas_province_code_areas")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_areas")),
    )
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_areas_province_code"), ["province_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_areas_search_name"), ["search_name"], unique=False)

    op.create_table(
        "deadline_policies",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_deadline_policies")),
    )
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("area_code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["area_code"], ["areas.code"], name=op.f("fk_agencies_area_code_areas")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agencies_area_code"), ["area_code"], unique=False)

    op.create_table(
        "deadline_rules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["deadline_policies.version"],
            name=op.f("fk_deadline_rules_policy_version_deadline_policies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_rules")),
        sa.UniqueConstraint("policy_version", "key", name="uq_rule_version_key"),
    )
    op.create_table(
        "officers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("area_code", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_officers_agency_code_agencies")
        ),
        sa.ForeignKeyConstraint(["area_code"], ["areas.code"], name=op.f("fk_officers_area_code_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officers")),
        sa.UniqueConstraint("username", name=op.f("uq_officers_username")),
    )
    op.create_table(
        "tips",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("receipt_code", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("commune_code", sa.String(length=8), nullable=True),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("classified_at", UTCDateTime(), nullable=True),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("verified_secs", sa.Integer(), nullable=True),
        sa.Column("classified_secs", sa.Integer(), nullable=True),
        sa.Column("processed_secs", sa.Integer(), nullable=True),
        sa.Column("verified_due_at", UTCDateTime(), nullable=False),
        sa.Column("classified_due_at", UTCDateTime(), nullable=False),
        sa.Column("processed_due_at", UTCDateTime(), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=True),
        sa.Column("at_risk_at", UTCDateTime(), nullable=True),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("duplicate_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_tips_agency_code_agencies")
        ),
        sa.ForeignKeyConstraint(["commune_code"], ["areas.code"], name=op.f("fk_tips_commune_code_areas")),
        sa.ForeignKeyConstraint(["duplicate_of"], ["tips.id"], name=op.f("fk_tips_duplicate_of_tips")),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["deadline_policies.version"],
            name=op.f("fk_tips_policy_version_deadline_policies"),
        ),
        sa.ForeignKeyConstraint(["province_code"], ["areas.code"], name=op.f("fk_tips_province_code_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tips")),
        sa.UniqueConstraint("receipt_code", name=op.f("uq_tips_receipt_code")),
    )
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.create_index("ix_tips_agency_received", ["agency_code", "received_at"], unique=False)
        batch_op.create_index("ix_tips_commune_received", ["commune_code", "received_at"], unique=False)
        batch_op.create_index("ix_tips_queue", ["agency_code", "urgent", "next_due_at"], unique=False)
        batch_op.create_index("ix_tips_received", ["received_at"], unique=False)
        for stage in ("verified", "classified", "processed"):
            batch_op.create_index(
                f"ix_tips_{stage}_secs",
                [f"{stage}_secs", "received_at", "agency_code", "commune_code"],
                unique=False,
            )

    op.create_table(
        "attachments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tip_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_attachments_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_tip_id"), ["tip_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("tip_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_audit_log_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_tip_id"), ["tip_id"], unique=False)

    op.create_table(
        "tip_transitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tip_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=True),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("to_agency", sa.String(length=40), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_transitions_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_transitions")),
    )
    with op.batch_alter_table("tip_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_transitions_tip_id"), ["tip_id"], unique=False)

    install_append_only_audit()


def install_append_only_audit() -> None:
    """The audit log refuses UPDATE and DELETE at the database, not just in our code."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table("tip_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_transitions_tip_id"))

    op.drop_table("tip_transitions")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_tip_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_tip_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("tips", schema=None) as batch_op:
        for stage in ("verified", "classified", "processed"):
            batch_op.drop_index(f"ix_tips_{stage}_secs")
        batch_op.drop_index("ix_tips_received")
        batch_op.drop_index("ix_tips_queue")
        batch_op.drop_index("ix_tips_commune_received")
        batch_op.drop_index("ix_tips_agency_received")

    op.drop_table("tips")
    op.drop_table("officers")
    op.drop_table("deadline_rules")
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agencies_area_code"))

    op.drop_table("agencies")
    op.drop_table("deadline_policies")
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_areas_search_name"))
        batch_op.drop_index(batch_op.f("ix_areas_province_code"))

    op.drop_table("areas")
