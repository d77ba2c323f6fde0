"""The blind index as one GIN-indexed array a tip on PostgreSQL.

- `tip_token_sets (tip_id, tokens)`: a tip's tokens as one `bigint[]` with a GIN index
  (fastupdate on), where `tip_tokens` held one row a token: intake writes one row a tip
  and one pending-list entry per token instead of 16 rows and 32 B-tree entries.
- On PostgreSQL the existing `tip_tokens` rows move into it, a range of tips per
  statement, and `tip_tokens` is left empty; the GIN index is built once, after the move.
  SQLite has no arrays: there the new table stays empty (`tokens` is JSON, so that both
  schemas match the models) and `tip_tokens` is kept.

Downgrade moves the arrays back into rows (PostgreSQL) and drops the table.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

#: Tip ids per statement when moving tokens (about 16-40 tokens a tip).
BATCH = 20_000
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TOKENS = sa.JSON().with_variant(postgresql.ARRAY(sa.BigInteger()), "postgresql")


def _id_ranges(bind: sa.Connection, table: str) -> list[tuple[int, int]]:
    lowest, highest = bind.execute(sa.text(f"SELECT min(tip_id), max(tip_id) FROM {table}")).one()  # noqa: S608
    if lowest is None:
        return []
    return [(lo, lo + BATCH) for lo in range(int(lowest) - 1, int(highest), BATCH)]


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    op.create_table(
        "tip_token_sets",
        sa.Column("tip_id", BIG_ID, nullable=False),
        sa.Column("tokens", TOKENS, nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_token_sets_tip_id_tips")),
        sa.PrimaryKeyConstraint("tip_id", name=op.f("pk_tip_token_sets")),
    )
    if pg:
        for lo, hi in _id_ranges(bind, "tip_tokens"):
            bind.execute(
                sa.text(
                    "INSERT INTO tip_token_sets (tip_id, tokens)"
                    " SELECT tip_id, array_agg(token ORDER BY token) FROM tip_tokens"
                    " WHERE tip_id > :lo AND tip_id <= :hi GROUP BY tip_id"
                ),
                {"lo": lo, "hi": hi},
            )
        op.execute("TRUNCATE tip_tokens")
    op.create_index(
        "ix_tip_token_sets_tokens",
        "tip_token_sets",
        ["tokens"],
        postgresql_using="gin",
        postgresql_with={"fastupdate": "on"},
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for lo, hi in _id_ranges(bind, "tip_token_sets"):
            bind.execute(
                sa.text(
                    "INSERT INTO tip_tokens (token, tip_id) SELECT DISTINCT unnest(tokens), tip_id"
                    " FROM tip_token_sets WHERE tip_id > :lo AND tip_id <= :hi"
                    " ON CONFLICT DO NOTHING"
                ),
                {"lo": lo, "hi": hi},
            )
    op.drop_index("ix_tip_token_sets_tokens", table_name="tip_token_sets")
    op.drop_table("tip_token_sets")
