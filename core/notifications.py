"""Notifications: an agency told of a tip it does not own.

The Department of Health is notified of every `trafficking` and `minor` tip so that victims
get support (core.routing.NOTIFIED_BY_CATEGORY). Its staff read such a tip — text, stage,
history — read-only: every read is audited (`view_notified`), and no action is open to
them, because every write looks the tip up within the owner's jurisdiction only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.categories import Category
from core.errors import NotFound
from core.jurisdiction import Jurisdiction
from core.ports import UnitOfWork
from core.routing import notified_agencies
from core.stages import Stage
from core.tips import Tip, TransitionRecord


@dataclass(frozen=True)
class NotifiedTip:
    """A line of a unit's notification list: enough to find the tip, nothing of its text."""

    tip_id: int
    agency_code: str
    reason: str
    at: datetime
    category: Category | None
    urgent: bool
    stage: Stage
    received_at: datetime


class NotificationRepository(Protocol):
    async def add(self, tip_id: int, agency_code: str, reason: str, at: datetime) -> bool:
        """Record one (idempotent per tip and agency); True when it is new."""
        ...

    async def inbox(self, within: Jurisdiction, limit: int) -> Sequence[NotifiedTip]:
        """Tips notified to the officer's unit(s), newest first."""
        ...

    async def notified(self, tip_id: int, within: Jurisdiction) -> bool: ...

    async def agencies(self, tip_id: int) -> Sequence[str]:
        """Who was notified of a tip (shown to its owner)."""
        ...


async def notify_for(
    uow: UnitOfWork, tip_id: int, category: Category | None, province_code: str, at: datetime
) -> None:
    """Record the notifications a tip's category calls for (in the caller's transaction)."""
    notifications: NotificationRepository = uow.notifications
    for agency in notified_agencies(category, province_code):
        assert category is not None
        await notifications.add(tip_id, agency, f"category:{category.value}", at)


class NotificationService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], *, clock: Callable[[], datetime]) -> None:
        self._uow = uow_factory
        self.clock = clock

    async def inbox(self, within: Jurisdiction, limit: int = 50) -> Sequence[NotifiedTip]:
        async with self._uow() as uow:
            return await uow.notifications.inbox(within, limit)

    async def agencies(self, tip_id: int) -> Sequence[str]:
        async with self._uow() as uow:
            return await uow.notifications.agencies(tip_id)

    async def read(
        self, tip_id: int, actor: str, within: Jurisdiction
    ) -> tuple[Tip, Sequence[TransitionRecord]]:
        """A notified unit's read of a tip (404 unless it was notified); audited."""
        async with self._uow() as uow:
            if not await uow.notifications.notified(tip_id, within):
                raise NotFound(f"tip {tip_id} not found")
            tip = await uow.tips.get(tip_id)
            history = await uow.tips.history(tip_id)
            await uow.audit.record(actor=actor, action="view_notified", tip_id=tip_id, at=self.clock())
            await uow.commit()
        return tip, history
