"""Conversation state: a small JSON-able dict per chat, keyed by the chat's keyed hash,
forgotten after a day without activity; and the record of updates already handled.

State lives behind `ChatStateStore` so that consecutive messages of one chat may reach
different workers (Redis), or stay in this process on the embedded default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from core.chat.catalogue import DEFAULT_LANGUAGE

IDLE_TTL = 24 * 3600
DEDUPE_TTL = 24 * 3600
STATE_VERSION = 1


@dataclass
class ChatState:
    """Where a chat is in its flow. Only what the flow needs; never a name or an id."""

    lang: str = DEFAULT_LANGUAGE
    flow: str = ""  # "", "report", "ask", "check", "intent", "notify"
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"v": STATE_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ChatState:
        """An unknown version starts over in the same language rather than misreading."""
        lang = str(raw.get("lang") or DEFAULT_LANGUAGE)
        if raw.get("v") != STATE_VERSION:
            return cls(lang=lang)
        return cls(
            lang=lang,
            flow=str(raw.get("flow", "")),
            step=str(raw.get("step", "")),
            data=dict(raw.get("data") or {}),
        )

    def start(self, flow: str, step: str, **data: Any) -> None:
        self.flow, self.step, self.data = flow, step, dict(data)

    def reset(self) -> None:
        self.start("", "")


class ChatStateStore(Protocol):
    async def load(self, key: str) -> dict[str, Any] | None: ...

    async def save(self, key: str, state: dict[str, Any]) -> None:
        """Store and restart the idle timer."""
        ...

    async def delete(self, key: str) -> None: ...


class UpdateLedger(Protocol):
    async def first_time(self, channel: str, update_id: int | str) -> bool:
        """True exactly once per (channel, update or message id), across workers sharing the ledger."""
        ...


class MemoryChatStateStore:
    """State in this process: the embedded default, one worker."""

    def __init__(self, ttl: float = IDLE_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}

    async def load(self, key: str) -> dict[str, Any] | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            del self._items[key]
            return None
        return dict(item[1])

    async def save(self, key: str, state: dict[str, Any]) -> None:
        now = self._clock()
        if len(self._items) > 10_000:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
        self._items[key] = (now + self.ttl, dict(state))

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)


class MemoryUpdateLedger:
    """Update ids seen by this process, kept for a day (Telegram redelivers for about that long)."""

    def __init__(self, ttl: float = DEDUPE_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._seen: dict[tuple[str, int | str], float] = {}

    async def first_time(self, channel: str, update_id: int | str) -> bool:
        now = self._clock()
        if len(self._seen) > 100_000:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
        expires = self._seen.get((channel, update_id))
        if expires is not None and expires > now:
            return False
        self._seen[(channel, update_id)] = now + self.ttl
        return True
