"""Audit log filters: indexes for the audit page's actor and action filters.

`/staff/audit` (and `GET /api/v1/staff/audit`, `audit.csv`) lists the log newest first by
id, keyset on `id < before`, filtered by date, actor, action and tip (storage/repositories.py
`SqlAuditLog.recent`). `at` and `tip_id` had indexes since 0001; actor and action had none,
so a filter on either read the log backwards by primary key until it had found a page, the
whole log for a rare actor or action.

- `ix_audit_log_actor_id` (actor, id): one actor's entries in id order; the page's two
  spellings (`lan`, `officer:lan`) are two ranges of it.
- `ix_audit_log_action_id` (action, id): one action's entries in id order.

Plain CREATE INDEX: on PostgreSQL it holds a SHARE lock on audit_log while it builds, so
every audited write (sign-ins, transitions, views) waits for that time, seconds per million
rows. CREATE INDEX CONCURRENTLY cannot run inside the migration's transaction; on a very
large log, build the two indexes by hand first with `CREATE INDEX CONCURRENTLY
ix_audit_log_actor_id ON audit_log (actor, id)` (and the same for action), then this
migration's `IF NOT EXISTS` finds them and only records the revision. On SQLite the plain
statement is used (no batch mode: the table keeps its append-only triggers).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEXES = {"ix_audit_log_actor_id": ["actor", "id"], "ix_audit_log_action_id": ["action", "id"]}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_log", columns, unique=False, if_not_exists=True)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="audit_log", if_exists=True)
