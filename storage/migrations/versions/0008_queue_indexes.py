"""Queue at 1,000,000 tips: indexes for the default order and the text search.

- `ix_tips_queue_unit` (agency_code, urgent DESC, next_due_at, id) and `ix_tips_queue_all`
  (urgent DESC, next_due_at, id) replace `ix_tips_queue` (agency_code, urgent,
  next_due_at), whose ascending urgency did not match the queue's order.
- `ix_tips_search_trgm`: a pg_trgm GIN index on the folded text, so `LIKE '%words%'` is
  an index search on PostgreSQL. Creating the extension needs superuser or, since
  PostgreSQL 13 (pg_trgm is a trusted extension), the CREATE privilege on the database,
  which its owner has. Without it the migration warns and goes on without the index:
  search still works, as a scan; an administrator then runs `CREATE EXTENSION pg_trgm`
  and the CREATE INDEX printed in the warning (re-running the migration does not, once
  0008 is recorded). On SQLite the index is declared empty (`WHERE 0`).

And for the KPI dashboard for a year under 300 ms (storage/dashboard_query.py):

- `kpi_months` / `kpi_days`: KPI counts of closed tips per month / day and unit,
  `tip_weeks`: tips per week, unit and category; all filled here from the existing tips.
- `ix_tips_open_kpi`: a partial index of open tips holding every column the KPI reads.
- `ix_tips_<stage>_secs` gain `province_code` and `category`, so the median walks stay
  index-only under every jurisdiction's conditions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("hotline.migrations")

TRGM_INDEX = "CREATE INDEX ix_tips_search_trgm ON tips USING gin (search_text gin_trgm_ops)"


def upgrade() -> None:
    with op.batch_alter_table("tips") as batch_op:
        batch_op.drop_index("ix_tips_queue")
        batch_op.create_index(
            "ix_tips_queue_unit", ["agency_code", sa.text("urgent DESC"), "next_due_at", "id"]
        )
        batch_op.create_index("ix_tips_queue_all", [sa.text("urgent DESC"), "next_due_at", "id"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.create_index("ix_tips_search_trgm", "tips", ["search_text"], sqlite_where=sa.false())
    elif _trigram_available(bind):
        op.execute(TRGM_INDEX)
    else:
        log.warning(
            "pg_trgm is not installed and this user may not create it: the staff queue's text "
            "search will scan. As a superuser: CREATE EXTENSION pg_trgm; %s;",
            TRGM_INDEX,
        )
    _kpi_upgrade()


def _kpi_upgrade() -> None:
    from storage.dashboard_query import rebuild_statements
    from storage.models import KPI_BOUNDS, KPI_COUNTS, KPI_STAGES, OPEN_KPI_COLUMNS, OPEN_TIPS_SQL

    def unit_key() -> list[sa.Column[str]]:
        return [
            sa.Column("province_code", sa.String(length=8), nullable=False),
            sa.Column("agency_code", sa.String(length=40), nullable=False),
            sa.Column("commune_code", sa.String(length=8), nullable=False),
        ]

    assert (KPI_COUNTS, KPI_BOUNDS) == (23, 16), "a change of these needs a new migration"
    keys = ["province_code", "agency_code", "commune_code", "category"]
    op.create_table(
        "kpi_months",
        sa.Column("month", sa.Integer(), nullable=False),
        *unit_key(),
        sa.Column("category", sa.String(length=32), nullable=False),
        *(sa.Column(f"n{i:02d}", sa.Integer(), nullable=False) for i in range(23)),
        *(sa.Column(f"{s}_lt{i:02d}", sa.Integer(), nullable=False) for s in KPI_STAGES for i in range(16)),
        sa.PrimaryKeyConstraint("month", *keys, name=op.f("pk_kpi_months")),
    )
    op.create_table(
        "kpi_days",
        sa.Column("day", sa.Integer(), nullable=False),
        *unit_key(),
        sa.Column("category", sa.String(length=32), nullable=False),
        *(sa.Column(f"n{i:02d}", sa.Integer(), nullable=False) for i in range(23)),
        *(sa.Column(f"{s}_lt{i:02d}", sa.Integer(), nullable=False) for s in KPI_STAGES for i in range(16)),
        sa.PrimaryKeyConstraint("day", *keys, name=op.f("pk_kpi_days")),
    )
    op.create_table(
        "tip_weeks",
        sa.Column("week", sa.Integer(), nullable=False),
        *unit_key(),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", *keys, name=op.f("pk_tip_weeks")),
    )
    with op.batch_alter_table("tips") as batch_op:
        for stage in KPI_STAGES:
            batch_op.drop_index(f"ix_tips_{stage}_secs")
            batch_op.create_index(f"ix_tips_{stage}_secs", [f"{stage}_secs", *WALK])
        batch_op.create_index(
            "ix_tips_open_kpi",
            list(OPEN_KPI_COLUMNS),
            postgresql_where=sa.text(OPEN_TIPS_SQL),
            sqlite_where=sa.text(OPEN_TIPS_SQL),
        )
    bind = op.get_bind()
    for statement in rebuild_statements():
        bind.execute(statement)


WALK = ["received_at", "agency_code", "commune_code", "province_code", "category"]


def _kpi_downgrade() -> None:
    with op.batch_alter_table("tips") as batch_op:
        batch_op.drop_index("ix_tips_open_kpi")
        for stage in ("verified", "classified", "processed"):
            batch_op.drop_index(f"ix_tips_{stage}_secs")
            batch_op.create_index(f"ix_tips_{stage}_secs", [f"{stage}_secs", *WALK[:3]])
    op.drop_table("tip_weeks")
    op.drop_table("kpi_days")
    op.drop_table("kpi_months")


def _trigram_available(bind: sa.Connection) -> bool:
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    try:
        with bind.begin_nested():  # a refusal must not abort the migration's transaction
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("CREATE EXTENSION pg_trgm refused: %s", exc.orig)
        return False
    return True


def downgrade() -> None:
    _kpi_downgrade()
    op.execute("DROP INDEX IF EXISTS ix_tips_search_trgm")
    with op.batch_alter_table("tips") as batch_op:
        batch_op.drop_index("ix_tips_queue_all")
        batch_op.drop_index("ix_tips_queue_unit")
        batch_op.create_index("ix_tips_queue", ["agency_code", "urgent", "next_due_at"])
