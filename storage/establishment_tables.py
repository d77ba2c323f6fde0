"""Tables of the establishments register, inspections, tip links, hotspots and indicator
targets (migration 0015). Imported at the end of `storage.models`, so they share its
metadata and the migrations test compares them too."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import BigId, UTCDateTime


class EstablishmentRow(Base):
    __tablename__ = "establishments"
    __table_args__ = (
        # One place spelt the same way (in any spelling) is one row: imports are idempotent.
        sa.UniqueConstraint("commune_code", "name_key", "address_key", name="uq_establishments_identity"),
        # The list filtered "due" walks these: never inspected first (NULL), then oldest.
        sa.Index("ix_establishments_province_due", "province_code", "last_inspected"),
        sa.Index("ix_establishments_commune_due", "commune_code", "last_inspected"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    address: Mapped[str] = mapped_column(sa.String(300))
    commune_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"))
    province_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"))
    licence: Mapped[str | None] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(16))
    commitment_date: Mapped[date | None] = mapped_column(sa.Date)
    # core.establishments.match_key of the name and of the address: what search compares.
    name_key: Mapped[str] = mapped_column(sa.String(400))
    address_key: Mapped[str] = mapped_column(sa.String(600))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(80))
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    # The latest inspection's date, kept with each inspection: the "due" filter reads it.
    last_inspected: Mapped[date | None] = mapped_column(sa.Date)


class EstablishmentEventRow(Base):
    """An establishment's history: created, imported, changed, inspected, tip linked."""

    __tablename__ = "establishment_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    establishment_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("establishments.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.Text, default="")


class InspectionRow(Base):
    __tablename__ = "inspections"
    __table_args__ = (sa.Index("ix_inspections_establishment_on", "establishment_id", "inspected_on"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    establishment_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("establishments.id"))
    inspected_on: Mapped[date] = mapped_column(sa.Date)
    outcome: Mapped[str] = mapped_column(sa.String(16))
    team: Mapped[str] = mapped_column(sa.String(300), default="")
    violation: Mapped[str | None] = mapped_column(sa.String(300))
    fine_vnd: Mapped[int | None] = mapped_column(sa.BigInteger)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TipEstablishmentRow(Base):
    """A tip an officer confirmed is about an establishment."""

    __tablename__ = "tip_establishments"
    __table_args__ = (sa.Index("ix_tip_establishments_recent", "establishment_id", "tip_received_at"),)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), primary_key=True)
    establishment_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("establishments.id"), primary_key=True)
    # The tip's receipt time, copied: the 90-day "needs inspection" rule counts by it.
    tip_received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    linked_by: Mapped[str] = mapped_column(sa.String(80))


class HotspotRow(Base):
    __tablename__ = "hotspots"
    __table_args__ = (sa.Index("ix_hotspots_province_state", "province_code", "state"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    commune_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"), index=True)
    province_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    establishment_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("establishments.id"), index=True
    )
    state: Mapped[str] = mapped_column(sa.String(16))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    eliminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returns: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_by: Mapped[str] = mapped_column(sa.String(80))
    # Optimistic concurrency: a move is `... WHERE state = <what the mover read>`.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HotspotEventRow(Base):
    """A hotspot's lifecycle, one row per move (the indicators count returns from here)."""

    __tablename__ = "hotspot_events"
    __table_args__ = (sa.Index("ix_hotspot_events_state_at", "to_state", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hotspot_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("hotspots.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_state: Mapped[str | None] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(80))
    tip_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tips.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")


class IndicatorTargetRow(Base):
    """A deployment's target for a plan indicator; area '' is the whole province."""

    __tablename__ = "indicator_targets"
    indicator: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    area_code: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    target: Mapped[float] = mapped_column(sa.Float)
    set_by: Mapped[str] = mapped_column(sa.String(80))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
