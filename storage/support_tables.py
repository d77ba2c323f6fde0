"""Tables of support cases, their messages, events and referrals, the service directory,
training records, staff counts and offline outreach activities (migration 0018).
Imported at the end of `storage.models`, so they share its metadata."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import BigId, UTCDateTime


class SupportCaseRow(Base):
    __tablename__ = "support_cases"
    __table_args__ = (sa.Index("ix_support_cases_province_received", "province_code", "received_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_code: Mapped[str] = mapped_column(sa.String(10), unique=True)
    passphrase_hash: Mapped[str] = mapped_column(sa.String(255))
    commune_code: Mapped[str | None] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"), index=True)
    province_code: Mapped[str] = mapped_column(sa.String(8))
    # The kinds of help asked for, comma-separated codes (core/data/support.json).
    kinds: Mapped[str] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.String(20))
    # Whether the need was ever assessed (kept when the case later closes).
    assessed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Whether a referral ever ended with the service received.
    served: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # The way to reach the person, sealed (envelope encryption); NULL once the case closes.
    contact_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_contact_due: Mapped[datetime] = mapped_column(UTCDateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SupportMessageRow(Base):
    __tablename__ = "support_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("support_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(sa.String(10))
    # Empty: the message is in `body_sealed` (rows written before migration 0021 were moved).
    body: Mapped[str] = mapped_column(sa.Text, default="")
    # The message, sealed with its own data key bound to (case, message id); see
    # storage.sealed.support_message_context.
    body_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)


class SupportEventRow(Base):
    __tablename__ = "support_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("support_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.String(300), default="")


class SupportProviderRow(Base):
    __tablename__ = "support_providers"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_support_providers_name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kinds: Mapped[str] = mapped_column(sa.String(200))
    communes: Mapped[str] = mapped_column(sa.Text, default="")
    contact: Mapped[str] = mapped_column(sa.String(300), default="")
    free: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class SupportReferralRow(Base):
    __tablename__ = "support_referrals"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("support_cases.id"), index=True)
    provider_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("support_providers.id"))
    kinds: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrainingSessionRow(Base):
    __tablename__ = "training_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    held_on: Mapped[date] = mapped_column(sa.Date, index=True)
    level: Mapped[str] = mapped_column(sa.String(10))
    agency_code: Mapped[str] = mapped_column(sa.String(40))
    topic: Mapped[str] = mapped_column(sa.String(300))
    created_by: Mapped[str] = mapped_column(sa.String(80))


class TrainingAttendanceRow(Base):
    __tablename__ = "training_attendance"
    session_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("training_sessions.id"), primary_key=True)
    agency_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    participants: Mapped[int] = mapped_column(sa.Integer)


class StaffCountRow(Base):
    __tablename__ = "staff_counts"
    agency_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    staff: Mapped[int] = mapped_column(sa.Integer)


class OutreachActivityRow(Base):
    __tablename__ = "outreach_activities"
    __table_args__ = (sa.Index("ix_outreach_activities_held", "held_on", "commune_code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    held_on: Mapped[date] = mapped_column(sa.Date)
    commune_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    audience: Mapped[str] = mapped_column(sa.String(60))
    reached: Mapped[int] = mapped_column(sa.Integer)
    created_by: Mapped[str] = mapped_column(sa.String(80))
