"""Per-chat ordering: one chat's events never overlap and keep their order, even when a
third event arrives while the second is waking up."""

from __future__ import annotations

import asyncio

from channels.ordering import ChatLocks


async def test_one_chat_in_order_others_in_parallel() -> None:
    locks = ChatLocks()
    log: list[tuple[str, int, str]] = []
    running: dict[str, int] = {}

    async def work(chat: str, n: int) -> None:
        running[chat] = running.get(chat, 0) + 1
        assert running[chat] == 1, "two events of one chat overlap"
        log.append((chat, n, "start"))
        for _ in range(3):
            await asyncio.sleep(0)
        log.append((chat, n, "end"))
        running[chat] -= 1

    tasks = []
    for n in range(30):
        for chat in ("a", "b", "c"):
            tasks.append(asyncio.create_task(locks.run(chat, work(chat, n))))
        if n % 4 == 0:
            await asyncio.sleep(0)  # let some finish while others arrive
    await asyncio.gather(*tasks)
    for chat in ("a", "b", "c"):
        starts = [n for c, n, what in log if c == chat and what == "start"]
        assert starts == list(range(30))
    assert len(locks) == 0, "locks are dropped when nobody uses them"
