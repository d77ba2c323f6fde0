"""Where the blind index's tokens are stored: on PostgreSQL one `bigint[]` row a tip
(`tip_token_sets`, GIN-indexed), on SQLite, which has no arrays, one row a token
(`tip_tokens`). Search, retention and key rotation go through here; intake's one
statement (storage/new_tips.py) and the import's SQLite path write them themselves."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TipTokenRow, TipTokenSetRow

_ARRAY = postgresql.ARRAY(sa.BigInteger())

#: Tips and their tokens given as two parallel arrays (tip id, token), one array per tip.
_INSERT_SETS = sa.text(
    "INSERT INTO tip_token_sets (tip_id, tokens) SELECT x.tip_id, array_agg(x.token)"
    " FROM unnest(CAST(:tip_ids AS bigint[]), CAST(:tokens AS bigint[])) AS x(tip_id, token)"
    " GROUP BY x.tip_id"
)


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def holding(tokens: Sequence[int], postgresql: bool) -> sa.Select[int]:
    """The ids of the tips holding any of `tokens` (one searched word's alternatives)."""
    if postgresql:
        return sa.select(TipTokenSetRow.tip_id).where(
            sa.type_coerce(TipTokenSetRow.tokens, _ARRAY).overlap(sa.literal(list(tokens), _ARRAY))
        )
    return sa.select(TipTokenRow.tip_id).where(TipTokenRow.token.in_(tokens))


def holding_every(words: Sequence[Sequence[int]]) -> sa.Select[int]:
    """PostgreSQL: the ids of the tips holding one of each word's tokens, in one test of each
    tip's one row (a tip walked in the queue is then probed once, not once a word)."""
    column = sa.type_coerce(TipTokenSetRow.tokens, _ARRAY)
    return sa.select(TipTokenSetRow.tip_id).where(
        *(column.overlap(sa.literal(list(tokens), _ARRAY)) for tokens in words)
    )


async def insert(session: AsyncSession, by_tip: Sequence[tuple[int, Sequence[int]]]) -> None:
    """Store each tip's tokens (tips without any get no row)."""
    pairs = [(tip_id, token) for tip_id, tokens in by_tip for token in tokens]
    if not pairs:
        return
    if is_postgresql(session):
        await session.execute(
            _INSERT_SETS, {"tip_ids": [tip for tip, _ in pairs], "tokens": [token for _, token in pairs]}
        )
    else:
        await session.execute(sa.insert(TipTokenRow), [{"token": t, "tip_id": tip} for tip, t in pairs])


async def delete(session: AsyncSession, tip_ids: Sequence[int]) -> None:
    """Forget these tips' tokens."""
    if is_postgresql(session):
        await session.execute(sa.delete(TipTokenSetRow).where(TipTokenSetRow.tip_id.in_(tip_ids)))
    else:
        await session.execute(sa.delete(TipTokenRow).where(TipTokenRow.tip_id.in_(tip_ids)))
