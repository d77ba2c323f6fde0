"""The public library's reads (published items, newest first) and its view counters.

Views are added with one upsert per item and day (`INSERT … ON CONFLICT DO UPDATE SET
views = views + excluded.views`), so concurrent flushes from several workers add up and
never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import NotFound
from core.learn import ItemViews, ViewKey
from core.outreach.content import ContentItem, ItemState
from storage.models import LearnViewRow, OutreachItemRow
from storage.outreach import item_from_row

Sessions = async_sessionmaker[AsyncSession]
I = OutreachItemRow  # noqa: E741 - the table's short name in queries
V = LearnViewRow
PUBLISHED = ItemState.PUBLISHED.value


class SqlLearnStore:
    """`core.learn.LearnStore` on the outreach tables and `learn_views`."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def stamp(self) -> str:
        # Published texts never change, so the set of published ids (its size, its sum and
        # the latest publication) tells whether anything shown publicly changed.
        query = sa.select(
            sa.func.count(I.id), sa.func.coalesce(sa.func.sum(I.id), 0), sa.func.max(I.published_at)
        )
        async with self._sessions() as session:
            row = (await session.execute(query.where(I.state == PUBLISHED))).one()
        latest = row[2].isoformat() if row[2] is not None else "-"
        return f"{row[0]}.{row[1]}.{latest}"

    async def published(
        self, audiences: Sequence[str], language: str, *, offset: int, limit: int
    ) -> Sequence[ContentItem]:
        query = (
            sa.select(I)
            .where(I.state == PUBLISHED, I.language == language, I.audience.in_(audiences))
            .order_by(I.published_at.desc(), I.id.desc())
            .offset(offset)
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [item_from_row(r) for r in rows]

    async def last_change(self, audiences: Sequence[str], language: str) -> datetime | None:
        query = sa.select(sa.func.max(I.published_at), sa.func.max(I.retired_at)).where(
            I.language == language, I.audience.in_(audiences), I.published_at.is_not(None)
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).one()
        moments = [m for m in row if m is not None]
        return max(moments) if moments else None

    async def item(self, item_id: int) -> ContentItem:
        async with self._sessions() as session:
            row = await session.get(I, item_id)
        if row is None:
            raise NotFound(f"content item {item_id} does not exist")
        return item_from_row(row)

    async def translations(self, group: str) -> Mapping[str, ContentItem]:
        query = sa.select(I).where(I.group_key == group, I.state == PUBLISHED)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return {r.language: item_from_row(r) for r in rows}

    async def all_published(self) -> Sequence[ContentItem]:
        query = sa.select(I).where(I.state == PUBLISHED).order_by(I.published_at.desc(), I.id.desc())
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [item_from_row(r) for r in rows]

    async def add_views(self, counts: Mapping[ViewKey, int]) -> None:
        values = [
            {"item_id": item_id, "day": day, "views": n} for (item_id, day), n in sorted(counts.items())
        ]
        if not values:
            return
        async with self._sessions() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert(V) if dialect == "postgresql" else sqlite.insert(V)
            stmt = insert.on_conflict_do_update(
                index_elements=[V.item_id, V.day], set_={"views": V.views + insert.excluded.views}
            )
            await session.execute(stmt, values)
            await session.commit()

    async def views(self, start: date, end: date) -> Sequence[ItemViews]:
        total = sa.func.sum(V.views).label("views")
        query = (
            sa.select(I.id, I.audience, I.language, I.title, total)
            .join(V, V.item_id == I.id)
            .where(V.day >= start, V.day <= end)
            .group_by(I.id, I.audience, I.language, I.title)
            .order_by(total.desc(), I.id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [ItemViews(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]
