"""Triage's reasons and support messages encrypted at rest.

- `tips.triage_sealed`: the triage proposal's reasons and explanations (the words, venues,
  web addresses and places it matched), sealed with the tip's data key; `tips.triage`
  keeps only its codes (storage.sealed.TRIAGE_CLEAR).
- `support_messages.body_sealed`: each message under its own data key, bound to its case
  and id; `body` is left empty.

Existing rows are converted a batch at a time in the migration's transaction, with the
master key `storage.migrate` hands in (`hotline db upgrade`), as 0019 does. Downgrade is
refused once anything is sealed: it would write the texts back in clear.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BATCH = 1000


def _keys() -> Callable[[], Any]:
    config = op.get_context().config
    keys: Callable[[], Any] | None = None if config is None else config.attributes.get("master_keys")
    if keys is None:
        raise RuntimeError(
            "migration 0021 encrypts the triage reasons and support messages already stored and"
            " needs the master key: set HOTLINE_MASTER_KEY or HOTLINE_MASTER_KEY_FILE and run"
            " `hotline db upgrade` again"
        )
    return keys


def _to_seal(bind: sa.Connection) -> bool:
    """Whether a stored value needs the master key (refused before any change otherwise)."""
    from storage.sealed import TRIAGE_CLEAR

    if bind.scalar(sa.text("SELECT count(*) FROM support_messages WHERE body <> ''")):
        return True
    tips = sa.table("tips", sa.column("id", sa.BigInteger()), sa.column("triage", sa.JSON()),
                    sa.column("forgotten_at", sa.DateTime()))  # fmt: skip
    last = 0
    while True:
        rows = bind.execute(
            sa.select(tips.c.id, tips.c.triage)
            .where(tips.c.id > last, tips.c.forgotten_at.is_(None))
            .order_by(tips.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return False
        last = rows[-1].id
        if any(r.triage and set(r.triage) - set(TRIAGE_CLEAR) for r in rows):
            return True


def upgrade() -> None:
    bind = op.get_bind()
    keys = _keys() if _to_seal(bind) else None
    op.add_column("tips", sa.Column("triage_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("support_messages", sa.Column("body_sealed", sa.LargeBinary(), nullable=True))
    if keys is not None:
        _seal_triage(bind, keys)
        _seal_messages(bind, keys)


def _seal_triage(bind: sa.Connection, keys: Callable[[], Any]) -> None:
    from storage.sealed import key_place, seal_triage, split_triage

    env = keys()
    tips = sa.table(
        "tips",
        sa.column("id", sa.BigInteger()),
        sa.column("receipt_code", sa.String()),
        sa.column("triage", sa.JSON()),
        sa.column("triage_sealed", sa.LargeBinary()),
        sa.column("forgotten_at", sa.DateTime()),
    )
    tip_keys = sa.table("tip_keys", sa.column("tip_id", sa.BigInteger()), sa.column("key_id", sa.String()),
                        sa.column("wrapped_key", sa.LargeBinary()))  # fmt: skip
    last = 0
    while True:
        rows = bind.execute(
            sa.select(
                tips.c.id, tips.c.receipt_code, tips.c.triage, tip_keys.c.wrapped_key, tip_keys.c.key_id
            )
            .join(tip_keys, tip_keys.c.tip_id == tips.c.id)
            .where(tips.c.id > last, tips.c.forgotten_at.is_(None))
            .order_by(tips.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        updates = []
        for r in rows:
            clear, rest = split_triage(r.triage)
            if not rest:
                continue
            data_key = env.unwrap(bytes(r.wrapped_key), key_place(r.receipt_code), r.key_id)
            updates.append(
                {"tip": r.id, "clear": clear, "sealed": seal_triage(data_key, r.receipt_code, rest)}
            )
        if updates:
            bind.execute(
                tips.update()
                .where(tips.c.id == sa.bindparam("tip"))
                .values(triage=sa.bindparam("clear", type_=sa.JSON()), triage_sealed=sa.bindparam("sealed")),
                updates,
            )


def _seal_messages(bind: sa.Connection, keys: Callable[[], Any]) -> None:
    from storage.sealed import seal_standalone, support_message_place

    env = keys()
    messages = sa.table(
        "support_messages",
        sa.column("id", sa.BigInteger()),
        sa.column("case_id", sa.BigInteger()),
        sa.column("body", sa.Text()),
        sa.column("body_sealed", sa.LargeBinary()),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(messages.c.id, messages.c.case_id, messages.c.body)
            .where(messages.c.id > last, messages.c.body != "")
            .order_by(messages.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        bind.execute(
            messages.update()
            .where(messages.c.id == sa.bindparam("row"))
            .values(body="", body_sealed=sa.bindparam("sealed")),
            [
                {"row": r.id, "sealed": seal_standalone(env, support_message_place(r.case_id, r.id), r.body)}
                for r in rows
            ],
        )


def downgrade() -> None:
    bind = op.get_bind()
    sealed = bind.scalar(
        sa.text(
            "SELECT (SELECT count(*) FROM tips WHERE triage_sealed IS NOT NULL)"
            " + (SELECT count(*) FROM support_messages WHERE body_sealed IS NOT NULL)"
        )
    )
    if sealed:
        raise RuntimeError(
            "migration 0021 cannot be undone once triage reasons or support messages are sealed:"
            " it would write them back in clear. Restore a backup taken before the upgrade instead."
        )
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of `tips` would break its foreign keys.
    op.execute("ALTER TABLE support_messages DROP COLUMN body_sealed")
    op.execute("ALTER TABLE tips DROP COLUMN triage_sealed")
