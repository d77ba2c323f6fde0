"""Tip content encrypted at rest: a wrapped data key per tip (`tip_keys`), the text, place,
messages and notes as ciphertexts, and a blind index of words (`tip_tokens`) in place of
the folded `search_text` and its trigram index. Existing rows are encrypted in place, a
batch at a time, in the migration's transaction (so no plain copy is ever committed).

The master key comes from `storage.migrate` (`hotline db upgrade` hands it in); a database
with tips and no key is refused with the reason. Downgrade is refused once tips exist:
going back would write the texts out in clear.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BATCH = 1000
#: (table, column, nullable) turned from text into ciphertext.
SEALED = (
    ("tips", "text", False),
    ("tips", "place", True),
    ("tip_messages", "text", False),
    ("tip_notes", "text", False),
)


def _cipher() -> Any:
    """The TipCipher over the master key handed in, or a refusal saying what is missing."""
    from storage.sealed import TipCipher

    config = op.get_context().config
    keys: Callable[[], Any] | None = None if config is None else config.attributes.get("master_keys")
    if keys is None:
        raise RuntimeError(
            "migration 0019 encrypts the tips already stored and needs the master key:"
            " set HOTLINE_MASTER_KEY or HOTLINE_MASTER_KEY_FILE and run `hotline db upgrade` again"
        )
    return TipCipher(keys)


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    # Refused before any change (SQLite's DDL is not undone with the transaction).
    cipher = _cipher() if bind.scalar(sa.text("SELECT count(*) FROM tips")) else None
    op.create_table(
        "tip_keys",
        sa.Column("tip_id", storage.types.BigId, nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_keys_tip_id_tips")),
        sa.PrimaryKeyConstraint("tip_id", name=op.f("pk_tip_keys")),
    )
    op.create_index(op.f("ix_tip_keys_key_id"), "tip_keys", ["key_id"])
    op.create_table(
        "tip_tokens",
        sa.Column("token", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tip_id", storage.types.BigId, nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_tokens_tip_id_tips")),
        sa.PrimaryKeyConstraint("token", "tip_id", name=op.f("pk_tip_tokens")),
    )
    op.create_index(op.f("ix_tip_tokens_tip_id"), "tip_tokens", ["tip_id"])
    op.execute("DROP INDEX IF EXISTS ix_tips_search_trgm")
    if pg:
        op.drop_column("tips", "search_text")
    else:
        op.execute("ALTER TABLE tips DROP COLUMN search_text")
    # Each column becomes a blob; its text is read back as UTF-8 and encrypted below.
    for table, column, nullable in SEALED:
        if pg:
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bytea USING convert_to({column}, 'UTF8')"
            )
        else:
            # SQLite cannot change a column's type: a new one replaces it (3.35+ drops columns).
            default = "" if nullable else " NOT NULL DEFAULT x''"
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column}_sealed BLOB{default}")
            op.execute(f"UPDATE {table} SET {column}_sealed = CAST({column} AS BLOB)")  # noqa: S608
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_sealed TO {column}")
    if cipher is not None:
        _encrypt_existing(bind, cipher)


def _encrypt_existing(bind: sa.Connection, cipher: Any) -> None:
    tips = sa.table(
        "tips",
        sa.column("id", sa.BigInteger()),
        sa.column("receipt_code", sa.String()),
        sa.column("text", sa.LargeBinary()),
        sa.column("place", sa.LargeBinary()),
    )
    keys = sa.table(
        "tip_keys", sa.column("tip_id", sa.BigInteger()), sa.column("key_id", sa.String()),
        sa.column("wrapped_key", sa.LargeBinary()),
    )  # fmt: skip
    tokens = sa.table("tip_tokens", sa.column("token", sa.BigInteger()), sa.column("tip_id", sa.BigInteger()))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(tips.c.id, tips.c.receipt_code, tips.c.text, tips.c.place)
            .where(tips.c.id > last)
            .order_by(tips.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        updates, key_rows, token_rows = [], [], []
        for row in rows:
            text = bytes(row.text).decode("utf-8")
            place = None if row.place is None else bytes(row.place).decode("utf-8")
            sealed = cipher.seal_tip(row.receipt_code, text, place)
            updates.append({"tip": row.id, "sealed_text": sealed.text, "sealed_place": sealed.place})
            key_rows.append({"tip_id": row.id, "key_id": sealed.key_id, "wrapped_key": sealed.wrapped_key})
            token_rows += [{"token": t, "tip_id": row.id} for t in sealed.tokens]
        bind.execute(
            tips.update()
            .where(tips.c.id == sa.bindparam("tip"))
            .values(text=sa.bindparam("sealed_text"), place=sa.bindparam("sealed_place")),
            updates,
        )
        bind.execute(keys.insert(), key_rows)
        if token_rows:
            bind.execute(tokens.insert(), token_rows)
    for table in ("tip_messages", "tip_notes"):
        _encrypt_rows(bind, cipher, table)


def _encrypt_rows(bind: sa.Connection, cipher: Any, name: str) -> None:
    """A table's texts under their tip's data key, bound to (table, row id, text)."""
    from storage.sealed import key_place

    rows_table = sa.table(name, sa.column("id", sa.BigInteger()), sa.column("tip_id", sa.BigInteger()),
                          sa.column("text", sa.LargeBinary()))  # fmt: skip
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                f"SELECT r.id, r.text, t.receipt_code, k.wrapped_key FROM {name} AS r"  # noqa: S608
                " JOIN tips AS t ON t.id = r.tip_id JOIN tip_keys AS k ON k.tip_id = r.tip_id"
                " WHERE r.id > :last ORDER BY r.id LIMIT :size"
            ),
            {"last": last, "size": BATCH},
        ).all()
        if not rows:
            break
        last = rows[-1].id
        env = cipher.envelope
        updates = [
            {
                "row": r.id,
                "sealed": cipher.seal_row(
                    env.unwrap(bytes(r.wrapped_key), key_place(r.receipt_code)),
                    name,
                    r.id,
                    bytes(r.text).decode("utf-8"),
                ),
            }
            for r in rows
        ]
        bind.execute(
            rows_table.update()
            .where(rows_table.c.id == sa.bindparam("row"))
            .values(text=sa.bindparam("sealed")),
            updates,
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.scalar(sa.text("SELECT count(*) FROM tips")):
        raise RuntimeError(
            "migration 0019 cannot be undone on a database holding tips: it would write their"
            " texts, messages and notes back in clear. Restore a backup taken before the upgrade"
            " instead."
        )
    pg = bind.dialect.name == "postgresql"
    for table, column, nullable in SEALED:
        if pg:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text USING ''")
        else:
            default = "" if nullable else " NOT NULL DEFAULT ''"
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column}_plain TEXT{default}")
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_plain TO {column}")
    op.add_column("tips", sa.Column("search_text", sa.Text(), nullable=True))
    if pg:
        if bind.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")):
            op.execute("CREATE INDEX ix_tips_search_trgm ON tips USING gin (search_text gin_trgm_ops)")
    else:
        op.create_index("ix_tips_search_trgm", "tips", ["search_text"], sqlite_where=sa.false())
    op.drop_index(op.f("ix_tip_tokens_tip_id"), table_name="tip_tokens")
    op.drop_table("tip_tokens")
    op.drop_index(op.f("ix_tip_keys_key_id"), table_name="tip_keys")
    op.drop_table("tip_keys")
