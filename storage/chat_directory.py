"""Subscribers and reply-notice consents in the database, chat ids encrypted.

Uniqueness is the database's job: a subscription is an upsert on the chat's keyed hash,
a consent an insert that ignores a repeat, never check-then-insert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.chat.identity import ChatKeys
from core.chat.ports import ChatRef, PendingNotice, Subscription
from storage.models import ChatNoticeRow, ChatSubscriberRow, TipMessageRow


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class SqlChatDirectory:
    """`core.chat.ports.ChatDirectory` over two tables, plus the notice outbox."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], keys: ChatKeys, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self.keys = keys
        self._clock = clock

    async def subscribe(self, chat: ChatRef, audience: str, language: str) -> None:
        values = {
            "channel": chat.channel.value,
            "chat_hash": chat.key,
            "chat_cipher": self.keys.encrypt(chat.channel.value, chat.address),
            "audience": audience,
            "language": language,
            "active": True,
            "subscribed_at": self._clock(),
            "unsubscribed_at": None,
        }
        async with self._sessions() as session:
            stmt = _insert(session, ChatSubscriberRow).values(**values)
            changed = {k: stmt.excluded[k] for k in values if k not in ("channel", "chat_hash")}
            await session.execute(stmt.on_conflict_do_update(index_elements=["chat_hash"], set_=changed))
            await session.commit()

    async def subscription(self, chat_key: str) -> Subscription | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    sa.select(ChatSubscriberRow.audience, ChatSubscriberRow.language).where(
                        ChatSubscriberRow.chat_hash == chat_key, ChatSubscriberRow.active.is_(True)
                    )
                )
            ).first()
        return Subscription(row.audience, row.language) if row else None

    async def unsubscribe(self, chat_key: str) -> bool:
        """Kept as a row (inactive, chat id erased) so that reach can still be counted."""
        async with self._sessions() as session:
            result = await session.execute(
                sa.update(ChatSubscriberRow)
                .where(ChatSubscriberRow.chat_hash == chat_key, ChatSubscriberRow.active.is_(True))
                .values(active=False, chat_cipher="", unsubscribed_at=self._clock())
            )
            await session.commit()
        return bool(getattr(result, "rowcount", 0))

    async def allow_notices(self, chat: ChatRef, tip_id: int, language: str) -> None:
        async with self._sessions() as session:
            latest = await session.scalar(
                sa.select(sa.func.coalesce(sa.func.max(TipMessageRow.id), 0)).where(
                    TipMessageRow.tip_id == tip_id
                )
            )
            stmt = _insert(session, ChatNoticeRow).values(
                tip_id=tip_id,
                channel=chat.channel.value,
                chat_hash=chat.key,
                chat_cipher=self.keys.encrypt(chat.channel.value, chat.address),
                language=language,
                created_at=self._clock(),
                notified_message_id=int(latest or 0),
            )
            await session.execute(stmt.on_conflict_do_nothing(index_elements=["tip_id", "chat_hash"]))
            await session.commit()

    async def forget(self, chat_key: str) -> None:
        await self.unsubscribe(chat_key)
        async with self._sessions() as session:
            await session.execute(sa.delete(ChatNoticeRow).where(ChatNoticeRow.chat_hash == chat_key))
            await session.commit()

    # --- the notice outbox ------------------------------------------------------------------

    async def pending_notices(self, limit: int = 100) -> Sequence[PendingNotice]:
        """Consents whose tip has an officer message newer than the last one announced."""
        newest = (
            sa.select(TipMessageRow.tip_id, sa.func.max(TipMessageRow.id).label("newest"))
            .where(TipMessageRow.author == "officer")
            .group_by(TipMessageRow.tip_id)
            .subquery()
        )
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    sa.select(ChatNoticeRow, newest.c.newest)
                    .join(newest, newest.c.tip_id == ChatNoticeRow.tip_id)
                    .where(newest.c.newest > ChatNoticeRow.notified_message_id)
                    .order_by(ChatNoticeRow.id)
                    .limit(limit)
                )
            ).all()
        return [
            PendingNotice(
                row.id, row.channel, self.keys.decrypt(row.channel, row.chat_cipher), row.language, newest_id
            )
            for row, newest_id in rows
        ]

    async def mark_notified(self, notice_id: int, message_id: int) -> None:
        async with self._sessions() as session:
            await session.execute(
                sa.update(ChatNoticeRow)
                .where(ChatNoticeRow.id == notice_id, ChatNoticeRow.notified_message_id < message_id)
                .values(notified_message_id=message_id)
            )
            await session.commit()
