"""The establishments register: establishments, their history and inspections, tips
linked to them, hotspots with their lifecycle events, and the plan indicators' targets.

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "indicator_targets",
        sa.Column("indicator", sa.String(length=60), nullable=False),
        sa.Column("area_code", sa.String(length=8), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(length=80), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("indicator", "area_code", name=op.f("pk_indicator_targets")),
    )
    op.create_table(
        "establishments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("commune_code", sa.String(length=8), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("licence", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("commitment_date", sa.Date(), nullable=True),
        sa.Column("name_key", sa.String(length=400), nullable=False),
        sa.Column("address_key", sa.String(length=600), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("last_inspected", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["commune_code"], ["areas.code"], name=op.f("fk_establishments_commune_code_areas")
        ),
        sa.ForeignKeyConstraint(
            ["province_code"], ["areas.code"], name=op.f("fk_establishments_province_code_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_establishments")),
        sa.UniqueConstraint("commune_code", "name_key", "address_key", name="uq_establishments_identity"),
    )
    op.create_index(
        "ix_establishments_commune_due", "establishments", ["commune_code", "last_inspected"], unique=False
    )
    op.create_index(
        "ix_establishments_province_due", "establishments", ["province_code", "last_inspected"], unique=False
    )
    op.create_table(
        "establishment_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("establishment_id", _ID, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_establishment_events_establishment_id_establishments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_establishment_events")),
    )
    op.create_index(
        op.f("ix_establishment_events_establishment_id"),
        "establishment_events",
        ["establishment_id"],
        unique=False,
    )
    op.create_table(
        "hotspots",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("commune_code", sa.String(length=8), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("establishment_id", _ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("eliminated_at", UTCDateTime(), nullable=True),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_code"], ["areas.code"], name=op.f("fk_hotspots_commune_code_areas")
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_hotspots_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["province_code"], ["areas.code"], name=op.f("fk_hotspots_province_code_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspots")),
    )
    op.create_index(op.f("ix_hotspots_commune_code"), "hotspots", ["commune_code"], unique=False)
    op.create_index(op.f("ix_hotspots_establishment_id"), "hotspots", ["establishment_id"], unique=False)
    op.create_index("ix_hotspots_province_state", "hotspots", ["province_code", "state"], unique=False)
    op.create_table(
        "inspections",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("establishment_id", _ID, nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=300), nullable=False),
        sa.Column("violation", sa.String(length=300), nullable=True),
        sa.Column("fine_vnd", sa.BigInteger(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_inspections_establishment_id_establishments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    op.create_index(
        "ix_inspections_establishment_on", "inspections", ["establishment_id", "inspected_on"], unique=False
    )
    op.create_table(
        "hotspot_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("hotspot_id", _ID, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("tip_id", _ID, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hotspot_id"], ["hotspots.id"], name=op.f("fk_hotspot_events_hotspot_id_hotspots")
        ),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_hotspot_events_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspot_events")),
    )
    op.create_index(op.f("ix_hotspot_events_hotspot_id"), "hotspot_events", ["hotspot_id"], unique=False)
    op.create_index("ix_hotspot_events_state_at", "hotspot_events", ["to_state", "at"], unique=False)
    op.create_table(
        "tip_establishments",
        sa.Column("tip_id", _ID, nullable=False),
        sa.Column("establishment_id", _ID, nullable=False),
        sa.Column("tip_received_at", UTCDateTime(), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("linked_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_tip_establishments_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_establishments_tip_id_tips")),
        sa.PrimaryKeyConstraint("tip_id", "establishment_id", name=op.f("pk_tip_establishments")),
    )
    op.create_index(
        "ix_tip_establishments_recent",
        "tip_establishments",
        ["establishment_id", "tip_received_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tip_establishments_tip_received_at"), "tip_establishments", ["tip_received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tip_establishments_tip_received_at"), table_name="tip_establishments")
    op.drop_index("ix_tip_establishments_recent", table_name="tip_establishments")
    op.drop_table("tip_establishments")
    op.drop_index("ix_hotspot_events_state_at", table_name="hotspot_events")
    op.drop_index(op.f("ix_hotspot_events_hotspot_id"), table_name="hotspot_events")
    op.drop_table("hotspot_events")
    op.drop_index("ix_inspections_establishment_on", table_name="inspections")
    op.drop_table("inspections")
    op.drop_index("ix_hotspots_province_state", table_name="hotspots")
    op.drop_index(op.f("ix_hotspots_establishment_id"), table_name="hotspots")
    op.drop_index(op.f("ix_hotspots_commune_code"), table_name="hotspots")
    op.drop_table("hotspots")
    op.drop_index(op.f("ix_establishment_events_establishment_id"), table_name="establishment_events")
    op.drop_table("establishment_events")
    op.drop_index("ix_establishments_province_due", table_name="establishments")
    op.drop_index("ix_establishments_commune_due", table_name="establishments")
    op.drop_table("establishments")
    op.drop_table("indicator_targets")
