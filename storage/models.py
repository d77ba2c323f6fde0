"""Tables. Every schema change goes through an Alembic migration in `migrations/versions`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import BigId, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class AreaRow(Base):
    """Provinces and their communes, wards and special zones (2025 two-level units)."""

    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    # Lower case, diacritics folded: what search compares against.
    search_name: Mapped[str] = mapped_column(sa.String(120), index=True)
    level: Mapped[str] = mapped_column(sa.String(10))
    division_type: Mapped[str] = mapped_column(sa.String(30))
    province_code: Mapped[str | None] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"), index=True)
    remote: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class AgencyRow(Base):
    __tablename__ = "agencies"
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    area_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))


class OfficerRow(Base):
    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    agency_code: Mapped[str] = mapped_column(sa.String(40), sa.ForeignKey("agencies.code"))
    area_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"))
    role: Mapped[str] = mapped_column(sa.String(20))
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class StaffSessionRow(Base):
    """A signed-in officer. Keyed by the SHA-256 of the cookie value, never the value."""

    __tablename__ = "staff_sessions"
    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    officer_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("officers.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoutingRuleRow(Base):
    """Which agency kind owns tips of a category (the routing policy table)."""

    __tablename__ = "routing_rules"
    category: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    agency_kind: Mapped[str] = mapped_column(sa.String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(sa.String(80))


class PolicyRow(Base):
    """One version of the deadline policy; rules never change once a tip pins the version."""

    __tablename__ = "deadline_policies"
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.Text, default="")


class RuleRow(Base):
    __tablename__ = "deadline_rules"
    __table_args__ = (sa.UniqueConstraint("policy_version", "key", name="uq_rule_version_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    policy_version: Mapped[int] = mapped_column(sa.Integer, sa.ForeignKey("deadline_policies.version"))
    key: Mapped[str] = mapped_column(sa.String(40))
    amount: Mapped[int] = mapped_column(sa.Integer)
    unit: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")


_KPI_WALK = ("received_at", "agency_code", "commune_code", "province_code", "category")


class TipRow(Base):
    __tablename__ = "tips"
    __table_args__ = (
        sa.Index("ix_tips_received", "received_at"),
        sa.Index("ix_tips_agency_received", "agency_code", "received_at"),
        sa.Index("ix_tips_commune_received", "commune_code", "received_at"),
        # The KPI's medians walk these in order (index-only, scoping's columns included)
        # from a bucket boundary instead of sorting the cohort (storage.dashboard_query).
        sa.Index("ix_tips_verified_secs", "verified_secs", *_KPI_WALK),
        sa.Index("ix_tips_classified_secs", "classified_secs", *_KPI_WALK),
        sa.Index("ix_tips_processed_secs", "processed_secs", *_KPI_WALK),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    # What the informant wrote, and the place they named: ciphertexts only (core.envelope,
    # under the tip's data key in `tip_keys`), each bound to (tips, receipt code, column).
    text: Mapped[bytes] = mapped_column(sa.LargeBinary)
    channel: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str | None] = mapped_column(sa.String(32))
    urgent: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    language: Mapped[str | None] = mapped_column(sa.String(8))
    place: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    province_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"))
    commune_code: Mapped[str | None] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"))
    remote: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    agency_code: Mapped[str] = mapped_column(sa.String(40), sa.ForeignKey("agencies.code"))
    stage: Mapped[str] = mapped_column(sa.String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    classified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whole seconds from receipt to each stage, written when the stage is reached.
    verified_secs: Mapped[int | None] = mapped_column(sa.Integer)
    classified_secs: Mapped[int | None] = mapped_column(sa.Integer)
    processed_secs: Mapped[int | None] = mapped_column(sa.Integer)
    verified_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    classified_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Deadline of the next unreached stage (NULL once closed) and when it turns "at risk":
    # stored so the queue and the KPI can filter and sort in SQL.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    at_risk_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extensions: Mapped[int] = mapped_column(sa.Integer, default=0)
    policy_version: Mapped[int] = mapped_column(sa.Integer, sa.ForeignKey("deadline_policies.version"))
    duplicate_of: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tips.id"))
    # Triage's proposal on intake (core.triage.Proposal.to_dict()): its codes only
    # (storage.sealed.TRIAGE_CLEAR); the reasons and words matched are in `triage_sealed`.
    triage: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # The rest of the proposal, sealed with the tip's data key; NULL once forgotten.
    triage_sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    # Optimistic concurrency: every write is `... WHERE version = <what the writer read>`.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # argon2 hash of the reporter's passphrase; the passphrase itself is never stored.
    passphrase_hash: Mapped[str | None] = mapped_column(sa.String(160))
    # When the retention rules forgot the tip's content (text, place, files, conversation);
    # NULL while kept. Stage times, category, commune and channel stay for the KPI.
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The staff queue's order (urgent DESC, next_due_at ASC with none last, id), as indexes the
# queue walks from its cursor (storage.repositories.queue_segments; migration 0008): one
# unit's tips (officers, commune supervisors), and everyone's (provincial supervisors and
# admins, whose agency-kind and province conditions are checked on the rows walked).
sa.Index("ix_tips_queue_unit", TipRow.agency_code, TipRow.urgent.desc(), TipRow.next_due_at, TipRow.id)
sa.Index("ix_tips_queue_all", TipRow.urgent.desc(), TipRow.next_due_at, TipRow.id)


class TipKeyRow(Base):
    """A tip's data key, only wrapped by the master key (which never enters the database),
    bound to the tip's receipt code; `key_id` names the master key that wrapped it, so a
    rotation knows what is left to do. Deleting the row forgets the tip's texts for good
    (migration 0019)."""

    __tablename__ = "tip_keys"
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(16), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(sa.LargeBinary)


class TipTokenRow(Base):
    """The blind index (core.blind_index): one keyed hash per distinct folded word of a
    tip's text and place. The staff search looks tips up by token (the primary key's
    order); `tip_id` has its own index for rotation and deletion (migration 0019)."""

    __tablename__ = "tip_tokens"
    token: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), primary_key=True, index=True)


#: A tip's tokens as one value: `bigint[]` on PostgreSQL; SQLite has no arrays (the table
#: exists there only so both schemas match, empty: SQLite keeps `tip_tokens`).
TokenArray = sa.JSON().with_variant(postgresql.ARRAY(sa.BigInteger()), "postgresql")


class TipTokenSetRow(Base):
    """The blind index on PostgreSQL: a tip's tokens as one array, found by a GIN index
    (`&&`, fastupdate on: a new tip's tokens go to the index's pending list and are merged
    in bulk), one row a tip instead of one per word in `tip_tokens` (migration 0022)."""

    __tablename__ = "tip_token_sets"
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), primary_key=True)
    tokens: Mapped[list[int]] = mapped_column(TokenArray)


sa.Index(
    "ix_tip_token_sets_tokens",
    TipTokenSetRow.tokens,
    postgresql_using="gin",
    postgresql_with={"fastupdate": "on"},
)

#: Tips not closed: the only ones whose KPI counts depend on the moment asked.
OPEN_TIPS_SQL = "stage NOT IN ('duplicate', 'processed', 'spam', 'unfounded')"
OPEN_KPI_COLUMNS = (
    "received_at", "agency_code", "commune_code", "province_code", "category", "stage",
    "verified_at", "classified_at", "processed_at", "verified_due_at", "classified_due_at",
    "processed_due_at", "next_due_at", "at_risk_at", "verified_secs", "classified_secs",
    "processed_secs",
)  # fmt: skip
# Everything the KPI reads of an open tip, so its live part is an index-only scan of the
# open tips (a few percent of the table) instead of a pass over the whole cohort.
sa.Index(
    "ix_tips_open_kpi",
    *(getattr(TipRow, name) for name in OPEN_KPI_COLUMNS),
    postgresql_where=sa.text(OPEN_TIPS_SQL),
    sqlite_where=sa.text(OPEN_TIPS_SQL),
)

#: Columns of `kpi_months`: the KPI counts (storage.kpi_query.count_columns, in order) and,
#: per stage, how many tips took less than each bucket bound (storage.dashboard_query).
KPI_COUNTS = 23
KPI_BOUNDS = 16
KPI_STAGES = ("verified", "classified", "processed")


def _unit_key() -> tuple[sa.Column[str], ...]:
    return (
        sa.Column("province_code", sa.String(8), primary_key=True),
        sa.Column("agency_code", sa.String(40), primary_key=True),
        # '' for none: key columns cannot be NULL.
        sa.Column("commune_code", sa.String(8), primary_key=True),
    )


#: The KPI of closed tips (which never changes once closed) per month of receipt (Viet Nam
#: time) and unit; `category` only where scoping looks at it (misconduct, complaints),
#: else ''. Added to when a tip closes, in the same transaction (storage.dashboard_query).
kpi_months = sa.Table(
    "kpi_months",
    Base.metadata,
    sa.Column("month", sa.Integer, primary_key=True),
    *_unit_key(),
    sa.Column("category", sa.String(32), primary_key=True),
    *(sa.Column(f"n{i:02d}", sa.Integer, nullable=False) for i in range(KPI_COUNTS)),
    *(sa.Column(f"{s}_lt{i:02d}", sa.Integer, nullable=False) for s in KPI_STAGES for i in range(KPI_BOUNDS)),
)
#: The same per day of receipt: the partial months at a period's ends.
kpi_days = sa.Table(
    "kpi_days",
    Base.metadata,
    sa.Column("day", sa.Integer, primary_key=True),
    *_unit_key(),
    sa.Column("category", sa.String(32), primary_key=True),
    *(sa.Column(f"n{i:02d}", sa.Integer, nullable=False) for i in range(KPI_COUNTS)),
    *(sa.Column(f"{s}_lt{i:02d}", sa.Integer, nullable=False) for s in KPI_STAGES for i in range(KPI_BOUNDS)),
)
#: Tips received per week (Monday-based, Viet Nam time), unit and category ('' none): the
#: dashboard's weekly chart. Kept in step by intake, classification and referral.
tip_weeks = sa.Table(
    "tip_weeks",
    Base.metadata,
    sa.Column("week", sa.Integer, primary_key=True),
    *_unit_key(),
    sa.Column("category", sa.String(32), primary_key=True),
    sa.Column("received", sa.Integer, nullable=False),
)


class AttachmentRow(Base):
    """Metadata only; the bytes live in the attachment store, named by `storage_key`."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    media_type: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TipMessageRow(Base):
    """The reporter's thread: details they add, and officers' replies to them. `text` is a
    ciphertext under the tip's data key, bound to (tip_messages, id, text)."""

    __tablename__ = "tip_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), index=True)
    author: Mapped[str] = mapped_column(sa.String(16))
    # Who wrote it, for the staff side and the audit ("officer:name", "reporter:web").
    actor: Mapped[str] = mapped_column(sa.String(80))
    text: Mapped[bytes] = mapped_column(sa.LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class TipNoteRow(Base):
    """Officers' notes on a tip: staff only, kept apart from the reporter's thread. `text`
    is a ciphertext under the tip's data key, bound to (tip_notes, id, text)."""

    __tablename__ = "tip_notes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), index=True)
    actor: Mapped[str] = mapped_column(sa.String(80))
    text: Mapped[bytes] = mapped_column(sa.LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class TransitionRow(Base):
    __tablename__ = "tip_transitions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    from_stage: Mapped[str | None] = mapped_column(sa.String(16))
    to_stage: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    to_agency: Mapped[str | None] = mapped_column(sa.String(40))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class AuditRow(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE.

    The audit page lists newest first by id (keyset `id < before`), filtered by date (`at`),
    actor, action and tip: `(actor, id)` and `(action, id)` let a filtered page read its
    rows in order and stop at the page size (migration 0010); `at` and `tip_id` have theirs.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_actor_id", "actor", "id"),
        sa.Index("ix_audit_log_action_id", "action", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(40))
    tip_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tips.id"), index=True)
    detail: Mapped[str] = mapped_column(sa.Text, default="")


class ChatSubscriberRow(Base):
    """A chat subscribed to prevention news. The chat is known by a keyed hash;
    its id is kept only encrypted (AES-GCM, key outside the database), never in clear."""

    __tablename__ = "chat_subscribers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    chat_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    chat_cipher: Mapped[str] = mapped_column(sa.String(255))
    audience: Mapped[str] = mapped_column(sa.String(20), index=True)
    language: Mapped[str] = mapped_column(sa.String(5))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    subscribed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optional area the subscriber chose (migration 0007): campaigns and reach by area.
    province_code: Mapped[str | None] = mapped_column(sa.String(8), index=True)
    commune_code: Mapped[str | None] = mapped_column(sa.String(8), index=True)


class ChatNoticeRow(Base):
    """A reporter's consent to a short "you have a reply" notice in their chat for one tip."""

    __tablename__ = "chat_notices"
    __table_args__ = (sa.UniqueConstraint("tip_id", "chat_hash", name="uq_chat_notices_tip_id_chat_hash"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    chat_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    chat_cipher: Mapped[str] = mapped_column(sa.String(255))
    language: Mapped[str] = mapped_column(sa.String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The newest officer message already announced; only newer ones cause a notice.
    notified_message_id: Mapped[int] = mapped_column(BigId, default=0)


class TriageDecisionRow(Base):
    """An officer's decision on a proposed field: the correction rate is measured from these."""

    __tablename__ = "triage_decisions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), index=True)
    field: Mapped[str] = mapped_column(sa.String(20))
    proposed: Mapped[str | None] = mapped_column(sa.String(64))
    decided: Mapped[str | None] = mapped_column(sa.String(64))
    actor: Mapped[str] = mapped_column(sa.String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutreachItemRow(Base):
    """A content item of the prevention library; vi/en versions share `group_key`."""

    __tablename__ = "outreach_items"
    __table_args__ = (
        sa.UniqueConstraint("group_key", "language", name="uq_outreach_items_group_key_language"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_key: Mapped[str] = mapped_column(sa.String(64))
    audience: Mapped[str] = mapped_column(sa.String(20), index=True)
    language: Mapped[str] = mapped_column(sa.String(5))
    title: Mapped[str] = mapped_column(sa.String(120))
    text: Mapped[str] = mapped_column(sa.Text)
    image: Mapped[str | None] = mapped_column(sa.String(500))
    link: Mapped[str | None] = mapped_column(sa.String(500))
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(80))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(sa.String(80))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(sa.String(80))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by: Mapped[str | None] = mapped_column(sa.String(80))


class OutreachCampaignRow(Base):
    """One published item sent to an audience (and optionally an area) at a time."""

    __tablename__ = "outreach_campaigns"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("outreach_items.id"), index=True)
    group_key: Mapped[str] = mapped_column(sa.String(64))
    audience: Mapped[str] = mapped_column(sa.String(20))
    area_code: Mapped[str | None] = mapped_column(sa.String(8))
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(80))
    updated_by: Mapped[str | None] = mapped_column(sa.String(80))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutreachDeliveryRow(Base):
    """One recipient of one campaign. A subscriber gets a content group at most once: the
    unique key makes a second campaign of the same content skip those who had it. No
    foreign key to chat_subscribers, whose rows are never deleted (kept for reach)."""

    __tablename__ = "outreach_deliveries"
    __table_args__ = (
        sa.UniqueConstraint(
            "group_key", "subscriber_id", name="uq_outreach_deliveries_group_key_subscriber_id"
        ),
        sa.Index("ix_outreach_deliveries_campaign_state", "campaign_id", "state", "id"),
        sa.Index("ix_outreach_deliveries_subscriber_finished", "subscriber_id", "finished_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("outreach_campaigns.id"))
    subscriber_id: Mapped[int] = mapped_column(BigId)
    group_key: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(sa.String(64))
    language: Mapped[str | None] = mapped_column(sa.String(5))
    error: Mapped[str | None] = mapped_column(sa.String(200))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KnowledgeFeedbackRow(Base):
    """ "Did this answer help?" as two counters per knowledge-base entry and language; no
    chat, question or time is kept with them (migration 0007)."""

    __tablename__ = "knowledge_feedback"
    entry_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(5), primary_key=True)
    helped: Mapped[int] = mapped_column(sa.Integer, default=0)
    not_helped: Mapped[int] = mapped_column(sa.Integer, default=0)


class ReachPopulationRow(Base):
    """How many people an audience counts in an area (the reach denominator), entered by
    an administrator (migration 0007)."""

    __tablename__ = "reach_populations"
    audience: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    area_code: Mapped[str] = mapped_column(sa.String(8), sa.ForeignKey("areas.code"), primary_key=True)
    population: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(sa.String(80))


class TipNotificationRow(Base):
    """An agency told of a tip it does not own (the Department of Health of trafficking and
    minor tips, so victims get support): its staff may read the tip, not act on it
    (migration 0009)."""

    __tablename__ = "tip_notifications"
    __table_args__ = (sa.UniqueConstraint("tip_id", "agency_code", name="uq_tip_notifications_tip_agency"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), index=True)
    agency_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    reason: Mapped[str] = mapped_column(sa.String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class LearnViewRow(Base):
    """Views of a published item's public page on one day (Viet Nam's date): a counter and
    nothing else, no reader's address, cookie or device (migration 0014)."""

    __tablename__ = "learn_views"
    item_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("outreach_items.id"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True, index=True)
    views: Mapped[int] = mapped_column(sa.BigInteger)


class TipRegistrationRow(Base):
    """A tip an officer registered for someone (phone, in person, letter, tip box,
    forwarded) or imported from a register: who entered it, when, and why late if it was
    (migration 0012). `external_ref` is the register's own number, unique per unit, so an
    import run twice adds nothing."""

    __tablename__ = "tip_registrations"
    __table_args__ = (
        sa.UniqueConstraint("unit", "external_ref", name="uq_tip_registrations_unit_external_ref"),
    )
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), primary_key=True)
    unit: Mapped[str] = mapped_column(sa.String(40))
    registered_by: Mapped[str] = mapped_column(sa.String(80))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late_reason: Mapped[str | None] = mapped_column(sa.Text)
    forwarded_by: Mapped[str | None] = mapped_column(sa.String(200))
    external_ref: Mapped[str | None] = mapped_column(sa.String(64))


class TipInformantRow(Base):
    """A named informant's identity, only encrypted (core.envelope): a data key per tip,
    wrapped by the master key that lives outside the database; each value bound to
    (table, tip id, column). Deleting the row forgets the person (migration 0012)."""

    __tablename__ = "tip_informants"
    tip_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tips.id"), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(16))
    wrapped_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    name: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    phone: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    address: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RetentionRuleRow(Base):
    """How many days after a tip closes one kind of its data is forgotten, by outcome and
    category ('*' any); `days` NULL: the deployment's processed period (migration 0020)."""

    __tablename__ = "retention_rules"
    __table_args__ = (
        sa.UniqueConstraint("data", "outcome", "category", name="uq_retention_rules_data_outcome_category"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    data: Mapped[str] = mapped_column(sa.String(16))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(32))
    days: Mapped[int | None] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(sa.String(80))


# The retention run looks for closed tips by outcome that still hold their content.
sa.Index("ix_tips_stage_forgotten", TipRow.stage, TipRow.forgotten_at, TipRow.id)


# The establishments register, and the support cases, service directory, training and
# offline outreach, keep their tables in their own modules, on this metadata.
import storage.establishment_tables  # noqa: E402
import storage.support_tables  # noqa: E402, F401
