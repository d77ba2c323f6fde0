"""The outreach tables: content items, campaigns and per-recipient deliveries.

Every state change is a conditional UPDATE (the database decides races, never a read
followed by a write). Claims take a lease; on PostgreSQL the rows are picked with
`FOR UPDATE SKIP LOCKED` so that several workers never claim the same row. SQLite
serialises writers, so one statement is atomic there too (one worker is expected).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import DuplicateKey, NotFound
from core.outreach.campaigns import Campaign, CampaignState, DeliveryState, Progress
from core.outreach.content import ContentDraft, ContentItem, ItemState, Step
from core.outreach.ports import Recipient, Resolution
from core.outreach.service import OutreachService
from storage.mapping import from_row
from storage.models import ChatSubscriberRow, OutreachCampaignRow, OutreachDeliveryRow, OutreachItemRow

Sessions = async_sessionmaker[AsyncSession]
D = OutreachDeliveryRow
C = OutreachCampaignRow
UNCONFIRMED = "unconfirmed"
#: Columns of chat_subscribers that area targeting filters on (added by migration 0007).
AREA_COLUMNS = ("commune_code", "province_code")


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(session: AsyncSession, table: Any) -> Any:
    return (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(table)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- content ------------------------------------------------------------------------------


def item_from_row(row: OutreachItemRow) -> ContentItem:
    def step(by: str | None, at: datetime | None) -> Step | None:
        return Step(by, at) if by is not None and at is not None else None

    return from_row(
        ContentItem,
        row,
        group=row.group_key,
        created=Step(row.created_by, row.created_at),
        reviewed=step(row.reviewed_by, row.reviewed_at),
        published=step(row.published_by, row.published_at),
        retired=step(row.retired_by, row.retired_at),
    )


def _item_values(draft: ContentDraft, group: str, by: str, at: datetime) -> dict[str, Any]:
    return {
        "group_key": group,
        "audience": draft.audience,
        "language": draft.language,
        "title": draft.title,
        "text": draft.text,
        "image": draft.image,
        "link": draft.link,
        "state": ItemState.DRAFT.value,
        "created_at": at,
        "created_by": by,
    }


class SqlContentRepository:
    """`core.outreach.ports.ContentRepository`."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def add(self, draft: ContentDraft, *, group: str, by: str, at: datetime) -> ContentItem:
        row = OutreachItemRow(**_item_values(draft, group, by, at))
        async with self._sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                raise DuplicateKey(f"group {group} already has a {draft.language} item") from None
        return item_from_row(row)

    async def add_published(self, draft: ContentDraft, *, group: str, by: str, at: datetime) -> bool:
        values = _item_values(draft, group, by, at) | {
            "state": ItemState.PUBLISHED.value,
            "reviewed_at": at,
            "reviewed_by": by,
            "published_at": at,
            "published_by": by,
        }
        async with self._sessions() as session:
            stmt = _insert(session, OutreachItemRow).values(**values)
            result = await session.execute(
                stmt.on_conflict_do_nothing(index_elements=["group_key", "language"])
            )
            await session.commit()
        return _rowcount(result) == 1

    async def get(self, item_id: int) -> ContentItem:
        async with self._sessions() as session:
            row = await session.get(OutreachItemRow, item_id)
        if row is None:
            raise NotFound(f"content item {item_id} does not exist")
        return item_from_row(row)

    async def move(
        self, item_id: int, *, expected: ItemState, target: ItemState, by: str, at: datetime
    ) -> bool:
        values: dict[str, Any] = {"state": target.value}
        if target != ItemState.DRAFT:
            values |= {f"{target.value}_at": at, f"{target.value}_by": by}
        async with self._sessions() as session:
            result = await session.execute(
                sa.update(OutreachItemRow)
                .where(OutreachItemRow.id == item_id, OutreachItemRow.state == expected.value)
                .values(**values)
            )
            await session.commit()
        return _rowcount(result) == 1

    async def list(
        self,
        *,
        audience: str | None = None,
        language: str | None = None,
        state: ItemState | None = None,
        limit: int = 200,
    ) -> Sequence[ContentItem]:
        query = sa.select(OutreachItemRow).order_by(OutreachItemRow.id.desc()).limit(limit)
        if audience:
            query = query.where(OutreachItemRow.audience == audience)
        if language:
            query = query.where(OutreachItemRow.language == language)
        if state is not None:
            query = query.where(OutreachItemRow.state == state.value)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [item_from_row(r) for r in rows]

    async def versions(self, group: str) -> dict[str, ContentItem]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(OutreachItemRow).where(
                        OutreachItemRow.group_key == group,
                        OutreachItemRow.state == ItemState.PUBLISHED.value,
                    )
                )
            ).all()
        return {r.language: item_from_row(r) for r in rows}


# --- campaigns ----------------------------------------------------------------------------


def campaign_from_row(row: OutreachCampaignRow) -> Campaign:
    return from_row(Campaign, row, group=row.group_key)


def _area_filter(area_code: str) -> sa.ColumnElement[bool]:
    columns = ChatSubscriberRow.__table__.c
    name = "province_code" if len(area_code) <= 2 else "commune_code"
    if name not in columns:
        return sa.false()
    return columns[name] == area_code


class SqlCampaignRepository:
    """`core.outreach.ports.CampaignRepository`."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def add(
        self,
        *,
        item: ContentItem,
        audience: str,
        area_code: str | None,
        scheduled_at: datetime,
        by: str,
        at: datetime,
    ) -> Campaign:
        row = OutreachCampaignRow(
            item_id=item.id,
            group_key=item.group,
            audience=audience,
            area_code=area_code,
            state=CampaignState.SCHEDULED.value,
            scheduled_at=scheduled_at,
            created_at=at,
            created_by=by,
        )
        async with self._sessions() as session:
            session.add(row)
            await session.commit()
        return campaign_from_row(row)

    async def get(self, campaign_id: int) -> Campaign:
        async with self._sessions() as session:
            row = await session.get(OutreachCampaignRow, campaign_id)
        if row is None:
            raise NotFound(f"campaign {campaign_id} does not exist")
        return campaign_from_row(row)

    async def list(self, *, limit: int = 50) -> Sequence[Campaign]:
        async with self._sessions() as session:
            rows = (await session.scalars(sa.select(C).order_by(C.id.desc()).limit(limit))).all()
        return [campaign_from_row(r) for r in rows]

    async def move(
        self,
        campaign_id: int,
        *,
        expected: CampaignState,
        target: CampaignState,
        by: str,
        at: datetime,
    ) -> bool:
        values: dict[str, Any] = {"state": target.value, "updated_by": by}
        if target in (CampaignState.CANCELLED, CampaignState.DONE):
            values["finished_at"] = at
        async with self._sessions() as session:
            result = await session.execute(
                sa.update(C).where(C.id == campaign_id, C.state == expected.value).values(**values)
            )
            if _rowcount(result) != 1:
                await session.rollback()
                return False
            if target == CampaignState.CANCELLED:
                await session.execute(
                    sa.update(D)
                    .where(D.campaign_id == campaign_id, D.state == DeliveryState.QUEUED.value)
                    .values(state=DeliveryState.SKIPPED.value, error="cancelled", finished_at=at)
                )
            await session.commit()
        return True

    async def progress(self, campaign_id: int, now: datetime) -> Progress:
        finished = (DeliveryState.SENT.value, DeliveryState.BLOCKED.value, DeliveryState.FAILED.value)
        async with self._sessions() as session:
            row = await session.get(C, campaign_id)
            if row is None:
                raise NotFound(f"campaign {campaign_id} does not exist")
            counts = {
                state: int(n)
                for state, n in (
                    await session.execute(
                        sa.select(D.state, sa.func.count())
                        .where(D.campaign_id == campaign_id)
                        .group_by(D.state)
                    )
                ).all()
            }
            stats = (
                await session.execute(
                    sa.select(
                        sa.func.count().filter(D.finished_at >= now - timedelta(seconds=10)),
                        sa.func.count().filter(
                            D.state == DeliveryState.SENT.value, D.error.like(f"{UNCONFIRMED}%")
                        ),
                        sa.func.max(D.finished_at),
                    ).where(D.campaign_id == campaign_id, D.state.in_(finished))
                )
            ).one()
        campaign = campaign_from_row(row)
        done = sum(counts.get(s, 0) for s in finished)
        rate = 0.0
        if campaign.started_at is not None and done:
            end = stats[2] if campaign.state in (CampaignState.DONE, CampaignState.CANCELLED) else now
            elapsed = ((end or now) - campaign.started_at).total_seconds()
            rate = done / elapsed if elapsed > 0 else 0.0
        return Progress(campaign, counts, rate, int(stats[0]) / 10.0, int(stats[1]))

    async def area_targeting_supported(self) -> bool:
        return any(name in ChatSubscriberRow.__table__.c for name in AREA_COLUMNS)


# --- deliveries ---------------------------------------------------------------------------


class SqlDeliveryQueue:
    """`core.outreach.ports.DeliveryQueue` for one channel's subscribers: a campaign is
    expanded once, into one row per subscriber of every channel in `channels` (each chat is
    a subscriber of one channel), and this queue claims only its own channel's rows, so each
    channel's worker keeps its own rate and error handling."""

    def __init__(
        self, sessions: Sessions, *, channel: str = "telegram", channels: Sequence[str] | None = None
    ) -> None:
        self._sessions = sessions
        self.channel = channel
        self.channels = tuple(channels) if channels else (channel,)

    async def start_due(self, now: datetime) -> Sequence[int]:
        async with self._sessions() as session:
            due = (
                await session.scalars(
                    sa.select(C.id)
                    .where(C.state == CampaignState.SCHEDULED.value, C.scheduled_at <= now)
                    .order_by(C.id)
                )
            ).all()
        started = []
        for campaign_id in due:
            if await self._expand(campaign_id, now):
                started.append(campaign_id)
        return started

    async def _expand(self, campaign_id: int, now: datetime) -> bool:
        """Mark running and insert one row per current subscriber, in one transaction: the
        conditional UPDATE makes exactly one worker do it."""
        async with self._sessions() as session:
            result = await session.execute(
                sa.update(C)
                .where(C.id == campaign_id, C.state == CampaignState.SCHEDULED.value)
                .values(state=CampaignState.RUNNING.value, started_at=now)
                .returning(C.group_key, C.audience, C.area_code)
            )
            picked = result.first()
            if picked is None:
                await session.rollback()
                return False
            group, audience, area = picked
            s = ChatSubscriberRow
            chosen = sa.select(
                sa.literal(campaign_id, sa.BigInteger()),
                s.id,
                sa.literal(group, sa.String()),
                sa.literal(DeliveryState.QUEUED.value, sa.String()),
                sa.literal(0, sa.Integer()),
                sa.literal(now, D.next_at.type),
            ).where(
                s.active.is_(True), s.audience == audience, s.channel.in_(self.channels), s.chat_cipher != ""
            )
            if area:
                chosen = chosen.where(_area_filter(area))
            stmt = _insert(session, D).from_select(
                ["campaign_id", "subscriber_id", "group_key", "state", "attempts", "next_at"],
                chosen.order_by(s.id),
            )
            await session.execute(stmt.on_conflict_do_nothing(index_elements=["group_key", "subscriber_id"]))
            await session.commit()
        return True

    async def running(self) -> Sequence[Campaign]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(C).where(C.state == CampaignState.RUNNING.value).order_by(C.id)
                )
            ).all()
        return [campaign_from_row(r) for r in rows]

    async def claim(
        self, campaign_id: int, *, worker: str, limit: int, now: datetime, lease: float
    ) -> Sequence[Recipient]:
        async with self._sessions() as session:
            candidates = (
                sa.select(D.id)
                .where(
                    D.campaign_id == campaign_id,
                    D.state == DeliveryState.QUEUED.value,
                    D.next_at <= now,
                    sa.or_(D.lease_until.is_(None), D.lease_until < now),
                )
                .order_by(D.id)
                .limit(limit)
            )
            if self.channels != (self.channel,):  # rows of other channels' workers exist
                mine = sa.select(ChatSubscriberRow.id).where(ChatSubscriberRow.channel == self.channel)
                candidates = candidates.where(D.subscriber_id.in_(mine))
            if _dialect(session) == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            claimed = (
                await session.scalars(
                    sa.update(D)
                    .where(D.id.in_(candidates.scalar_subquery()))
                    .values(lease_until=now + timedelta(seconds=lease), worker=worker)
                    .returning(D.id)
                )
            ).all()
            if not claimed:
                await session.commit()
                return []
            s = ChatSubscriberRow
            rows = (
                await session.execute(
                    sa.select(
                        D.id,
                        D.subscriber_id,
                        D.attempts,
                        s.chat_hash,
                        s.channel,
                        s.chat_cipher,
                        s.language,
                        s.active,
                    )
                    .join(s, s.id == D.subscriber_id)
                    .where(D.id.in_(claimed))
                    .order_by(D.id)
                )
            ).all()
            await session.commit()
        return [
            Recipient(
                delivery_id=r.id,
                campaign_id=campaign_id,
                subscriber_id=r.subscriber_id,
                chat_key=r.chat_hash,
                channel=r.channel,
                chat_cipher=r.chat_cipher,
                language=r.language,
                active=bool(r.active),
                attempts=r.attempts,
            )
            for r in rows
        ]

    async def mark_sending(
        self, delivery_ids: Sequence[int], *, worker: str, now: datetime, lease: float
    ) -> Sequence[int]:
        if not delivery_ids:
            return []
        running = sa.select(C.id).where(C.state == CampaignState.RUNNING.value)
        async with self._sessions() as session:
            ours = (
                await session.scalars(
                    sa.update(D)
                    .where(
                        D.id.in_(delivery_ids),
                        D.state == DeliveryState.QUEUED.value,
                        D.worker == worker,
                        D.campaign_id.in_(running),
                    )
                    .values(
                        state=DeliveryState.SENDING.value,
                        attempts=D.attempts + 1,
                        lease_until=now + timedelta(seconds=lease),
                    )
                    .returning(D.id)
                )
            ).all()
            await session.commit()
        return list(ours)

    async def resolve(self, resolutions: Sequence[Resolution], *, now: datetime) -> None:
        if not resolutions:
            return
        table: sa.Table = D.__table__  # type: ignore[assignment]
        final = [r for r in resolutions if r.state != DeliveryState.QUEUED]
        again = [r for r in resolutions if r.state == DeliveryState.QUEUED]
        blocked = [r.delivery_id for r in resolutions if r.state == DeliveryState.BLOCKED]
        active = (DeliveryState.QUEUED.value, DeliveryState.SENDING.value)
        async with self._sessions() as session:
            if final:
                await session.execute(
                    sa.update(table)
                    .where(
                        table.c.id == sa.bindparam("did"),
                        sa.or_(table.c.state == active[0], table.c.state == active[1]),
                    )
                    .values(
                        state=sa.bindparam("new_state"),
                        error=sa.bindparam("err"),
                        language=sa.bindparam("lang"),
                        finished_at=now,
                        lease_until=None,
                    ),
                    [
                        {
                            "did": r.delivery_id,
                            "new_state": r.state.value,
                            "err": r.error or None,
                            "lang": r.language,
                        }
                        for r in final
                    ],
                )
            if again:
                await session.execute(
                    sa.update(table)
                    .where(
                        table.c.id == sa.bindparam("did"),
                        sa.or_(table.c.state == active[0], table.c.state == active[1]),
                    )
                    .values(
                        state=DeliveryState.QUEUED.value,
                        error=sa.bindparam("err"),
                        next_at=sa.bindparam("when"),
                        attempts=table.c.attempts - sa.bindparam("refund", type_=sa.Integer()),
                        lease_until=None,
                        worker=None,
                    ),
                    [
                        {
                            "did": r.delivery_id,
                            "err": r.error or None,
                            "when": r.next_at or now,
                            "refund": 1 if r.refund_attempt else 0,
                        }
                        for r in again
                    ],
                )
            if blocked:
                # As SqlChatDirectory.unsubscribe: inactive, chat id erased, row kept for reach.
                subscribers = sa.select(D.subscriber_id).where(D.id.in_(blocked)).scalar_subquery()
                await session.execute(
                    sa.update(ChatSubscriberRow)
                    .where(ChatSubscriberRow.id.in_(subscribers), ChatSubscriberRow.active.is_(True))
                    .values(active=False, chat_cipher="", unsubscribed_at=now)
                )
            await session.commit()

    async def release(self, delivery_ids: Sequence[int], *, worker: str, next_at: datetime) -> None:
        if not delivery_ids:
            return
        async with self._sessions() as session:
            await session.execute(
                sa.update(D)
                .where(D.id.in_(delivery_ids), D.state == DeliveryState.QUEUED.value, D.worker == worker)
                .values(lease_until=None, worker=None, next_at=next_at)
            )
            await session.commit()

    async def recover(self, now: datetime) -> int:
        async with self._sessions() as session:
            result = await session.execute(
                sa.update(D)
                .where(D.state == DeliveryState.SENDING.value, D.lease_until < now)
                .values(
                    state=DeliveryState.SENT.value,
                    error=f"{UNCONFIRMED}: the worker stopped during the call",
                    finished_at=now,
                    lease_until=None,
                )
            )
            await session.commit()
        return _rowcount(result)

    async def finish_if_complete(self, campaign_id: int, now: datetime) -> bool:
        pending = sa.select(D.id).where(
            D.campaign_id == campaign_id,
            D.state.in_((DeliveryState.QUEUED.value, DeliveryState.SENDING.value)),
        )
        async with self._sessions() as session:
            result = await session.execute(
                sa.update(C)
                .where(C.id == campaign_id, C.state == CampaignState.RUNNING.value, ~pending.exists())
                .values(state=CampaignState.DONE.value, finished_at=now)
            )
            await session.commit()
        return _rowcount(result) == 1


def outreach_service(sessions: Sessions, clock: Callable[[], datetime]) -> OutreachService:
    """The service over these repositories (wired in hotline/bootstrap.py)."""
    return OutreachService(SqlContentRepository(sessions), SqlCampaignRepository(sessions), clock=clock)


async def load_starter_content(session: AsyncSession, at: datetime) -> int:
    """Insert the shipped items as published, skipping (group, language) pairs that
    exist: idempotent, and an edited or retired item is never brought back. Returns how
    many were inserted."""
    from core.outreach.starter import SHIPPED_BY, starter_drafts

    inserted = 0
    for draft in starter_drafts():
        values = _item_values(draft, draft.group or "", SHIPPED_BY, at) | {
            "state": ItemState.PUBLISHED.value,
            "reviewed_at": at,
            "reviewed_by": SHIPPED_BY,
            "published_at": at,
            "published_by": SHIPPED_BY,
        }
        stmt = _insert(session, OutreachItemRow).values(**values)
        result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["group_key", "language"]))
        inserted += _rowcount(result)
    await session.flush()
    return inserted
