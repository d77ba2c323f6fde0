"""Time that passes only when someone sleeps, for limiters, workers and servers that count
seconds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class VirtualTime:
    """A monotonic clock in seconds, the UTC time it stands for, and a `sleep` that moves
    it: a sleep of `s` seconds ends with the clock at least `s` after it began (never back)
    and lets the other tasks run first; tasks wake in the order they slept. Nothing waits on
    the wall clock."""

    def __init__(self, start: float = 1_000.0, at: datetime | None = None) -> None:
        self.now = self.start = start
        self.at = at or datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def utc(self) -> datetime:
        return self.at + timedelta(seconds=self.now - self.start)

    async def sleep(self, seconds: float) -> None:
        wake = self.now + max(0.0, seconds)
        self.slept.append(seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, wake)
