"""Reach counting, population denominators, subscriber areas and knowledge-base feedback
counters in the database (migration 0007)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import InvalidInput
from core.knowledge.service import FeedbackCount
from core.reach import Population
from storage.models import (
    AreaRow,
    ChatSubscriberRow,
    KnowledgeFeedbackRow,
    OutreachCampaignRow,
    OutreachDeliveryRow,
    ReachPopulationRow,
)

Sessions = async_sessionmaker[AsyncSession]
#: The delivery state that counts as "received" (an unconfirmed send is recorded as sent).
SENT = "sent"


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class SqlReachRepository:
    """`core.reach.ReachRepository`."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def reached(self, start: datetime, end: datetime, area_code: str | None) -> dict[str, int]:
        d, c, s = OutreachDeliveryRow, OutreachCampaignRow, ChatSubscriberRow
        stmt = (
            sa.select(c.audience, sa.func.count(sa.distinct(d.subscriber_id)))
            .join(c, c.id == d.campaign_id)
            .where(d.state == SENT, d.finished_at >= start, d.finished_at < end)
            .group_by(c.audience)
        )
        if area_code:
            column = s.province_code if len(area_code) <= 2 else s.commune_code
            stmt = stmt.where(d.subscriber_id.in_(sa.select(s.id).where(column == area_code)))
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        return {audience: int(count) for audience, count in rows}

    async def populations(self) -> Sequence[Population]:
        p = ReachPopulationRow
        async with self._sessions() as session:
            rows = (await session.scalars(sa.select(p).order_by(p.area_code, p.audience))).all()
        return [
            Population(r.audience, r.area_code, int(r.population), r.updated_at, r.updated_by) for r in rows
        ]

    async def set_population(
        self, audience: str, area_code: str, population: int, *, by: str, at: datetime
    ) -> None:
        values = {
            "audience": audience,
            "area_code": area_code,
            "population": population,
            "updated_at": at,
            "updated_by": by,
        }
        async with self._sessions() as session:
            if await session.get(AreaRow, area_code) is None:
                raise InvalidInput(f"unknown area code {area_code!r}")
            stmt = _insert(session, ReachPopulationRow).values(**values)
            changed = {k: stmt.excluded[k] for k in ("population", "updated_at", "updated_by")}
            await session.execute(
                stmt.on_conflict_do_update(index_elements=["audience", "area_code"], set_=changed)
            )
            await session.commit()


class SqlSubscriberAreas:
    """The optional area of a subscription (`core.chat.ports.SubscriberAreas`)."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def set_area(self, chat_key: str, commune_code: str) -> bool:
        """Record the commune (and its province) of an active subscription; False if there
        is none, or no such commune (a hand-made link), and nothing is changed."""
        commune = sa.select(AreaRow.province_code).where(
            AreaRow.code == commune_code, AreaRow.province_code.is_not(None)
        )
        async with self._sessions() as session:
            result = await session.execute(
                sa.update(ChatSubscriberRow)
                .where(
                    ChatSubscriberRow.chat_hash == chat_key,
                    ChatSubscriberRow.active.is_(True),
                    commune.exists(),
                )
                .values(commune_code=commune_code, province_code=commune.scalar_subquery())
            )
            await session.commit()
        return bool(getattr(result, "rowcount", 0))


class SqlFeedbackStore:
    """`core.knowledge.FeedbackStore`: an upsert that adds one, race-free."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def record(self, entry_id: str, language: str, helped: bool) -> None:
        k = KnowledgeFeedbackRow
        async with self._sessions() as session:
            stmt = _insert(session, k).values(
                entry_id=entry_id, language=language, helped=int(helped), not_helped=int(not helped)
            )
            column = "helped" if helped else "not_helped"
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["entry_id", "language"],
                    set_={column: getattr(k, column) + 1},
                )
            )
            await session.commit()

    async def counts(self) -> Sequence[FeedbackCount]:
        k = KnowledgeFeedbackRow
        async with self._sessions() as session:
            rows = (await session.scalars(sa.select(k).order_by(k.entry_id, k.language))).all()
        return [FeedbackCount(r.entry_id, r.language, r.helped, r.not_helped) for r in rows]
