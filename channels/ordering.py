"""One chat's events strictly in order, several chats at once: a chat's flow state is
read and written per event, so two events of one chat must never interleave."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable


class ChatLocks:
    """A lock per chat, made on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def run(self, chat: Hashable, work: Awaitable[object]) -> None:
        """Run `work` after every earlier event of `chat` (waiters are served in order)."""
        lock = self._locks.setdefault(chat, asyncio.Lock())
        try:
            async with lock:
                await work
        finally:
            if not lock.locked() and self._locks.get(chat) is lock:
                del self._locks[chat]

    def __len__(self) -> int:
        return len(self._locks)
