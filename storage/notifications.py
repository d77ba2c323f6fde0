"""`core.notifications.NotificationRepository` in SQL: rows of `tip_notifications`,
read through the same jurisdiction rules as tips (storage/scoping.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.categories import Category
from core.jurisdiction import Jurisdiction
from core.notifications import NotifiedTip
from core.stages import Stage
from storage.models import TipNotificationRow, TipRow
from storage.scoping import notified_where


class SqlNotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, tip_id: int, agency_code: str, reason: str, at: datetime) -> bool:
        exists = await self.session.scalar(
            sa.select(TipNotificationRow.id).where(
                TipNotificationRow.tip_id == tip_id, TipNotificationRow.agency_code == agency_code
            )
        )
        if exists is not None:
            return False
        self.session.add(TipNotificationRow(tip_id=tip_id, agency_code=agency_code, reason=reason, at=at))
        await self.session.flush()
        return True

    async def inbox(self, within: Jurisdiction, limit: int) -> Sequence[NotifiedTip]:
        rows = await self.session.execute(
            sa.select(
                TipNotificationRow.tip_id,
                TipNotificationRow.agency_code,
                TipNotificationRow.reason,
                TipNotificationRow.at,
                TipRow.category,
                TipRow.urgent,
                TipRow.stage,
                TipRow.received_at,
            )
            .join(TipRow, TipRow.id == TipNotificationRow.tip_id)
            .where(*notified_where(within))
            .order_by(TipNotificationRow.id.desc())
            .limit(limit)
        )
        return [
            NotifiedTip(
                r.tip_id,
                r.agency_code,
                r.reason,
                r.at,
                Category(r.category) if r.category else None,
                bool(r.urgent),
                Stage(r.stage),
                r.received_at,
            )
            for r in rows
        ]

    async def notified(self, tip_id: int, within: Jurisdiction) -> bool:
        found = await self.session.scalar(
            sa.select(TipNotificationRow.id)
            .join(TipRow, TipRow.id == TipNotificationRow.tip_id)
            .where(TipNotificationRow.tip_id == tip_id, *notified_where(within))
            .limit(1)
        )
        return found is not None

    async def agencies(self, tip_id: int) -> Sequence[str]:
        rows = await self.session.scalars(
            sa.select(TipNotificationRow.agency_code)
            .where(TipNotificationRow.tip_id == tip_id)
            .order_by(TipNotificationRow.id)
        )
        return list(rows)
