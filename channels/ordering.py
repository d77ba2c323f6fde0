"""One chat's events strictly in order, several chats at once: a chat's flow state is
read and written per event, so two events of one chat must never interleave."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable


class ChatLocks:
    """A lock per chat, made on demand and dropped when nobody holds or waits for it.

    The lock is counted by its users rather than judged by `locked()`: between a release
    and the next waiter waking, the lock looks free, and dropping it then would let a
    third event of the chat make a new lock and run beside the second."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, list[int]]] = {}

    async def run(self, chat: Hashable, work: Awaitable[object]) -> None:
        """Run `work` after every earlier event of `chat` (waiters are served in order)."""
        entry = self._locks.get(chat)
        if entry is None:
            entry = self._locks[chat] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                await work
        finally:
            users[0] -= 1
            if users[0] == 0 and self._locks.get(chat) is entry:
                del self._locks[chat]

    def __len__(self) -> int:
        return len(self._locks)
