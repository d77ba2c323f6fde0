"""`core.live.UrgentFeed` in SQL: a range scan on the primary key above the last id sent,
scoped by storage/scoping.py like every staff query of tips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.categories import Category
from core.jurisdiction import Jurisdiction
from core.live import ArrivedTip
from core.stages import Stage
from storage.models import TipRow
from storage.scoping import within_where


class SqlUrgentFeed:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def last_id(self, within: Jurisdiction) -> int:
        async with self._sessions() as session:
            found: Any = await session.scalar(sa.select(sa.func.max(TipRow.id)).where(*within_where(within)))
        return int(found or 0)

    async def urgent_after(self, within: Jurisdiction, after_id: int, limit: int) -> Sequence[ArrivedTip]:
        query = (
            sa.select(
                TipRow.id,
                TipRow.stage,
                TipRow.category,
                TipRow.urgent,
                TipRow.commune_code,
                TipRow.received_at,
                TipRow.next_due_at,
            )
            .where(TipRow.id > after_id, TipRow.urgent.is_(True), TipRow.next_due_at.is_not(None))
            .where(*within_where(within))
            .order_by(TipRow.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            ArrivedTip(
                r.id,
                Stage(r.stage),
                Category(r.category) if r.category else None,
                bool(r.urgent),
                r.commune_code,
                r.received_at,
                r.next_due_at,
            )
            for r in rows
        ]
