"""An in-process chat directory: for unit tests and for a bot without a database."""

from __future__ import annotations

from core.chat.identity import ChatKeys
from core.chat.ports import ChatRef, Subscription


class MemoryChatDirectory:
    """Holds addresses encrypted, like the database does, so both behave alike."""

    def __init__(self, keys: ChatKeys) -> None:
        self.keys = keys
        self.subscribers: dict[str, tuple[str, Subscription]] = {}
        self.notices: dict[int, set[tuple[str, str]]] = {}

    async def subscribe(self, chat: ChatRef, audience: str, language: str) -> None:
        sealed = self.keys.encrypt(chat.channel.value, chat.address)
        self.subscribers[chat.key] = (sealed, Subscription(audience, language))

    async def subscription(self, chat_key: str) -> Subscription | None:
        found = self.subscribers.get(chat_key)
        return found[1] if found else None

    async def unsubscribe(self, chat_key: str) -> bool:
        return self.subscribers.pop(chat_key, None) is not None

    async def allow_notices(self, chat: ChatRef, tip_id: int, language: str) -> None:
        sealed = self.keys.encrypt(chat.channel.value, chat.address)
        self.notices.setdefault(tip_id, set()).add((chat.key, sealed))

    async def forget(self, chat_key: str) -> None:
        await self.unsubscribe(chat_key)
        for holders in self.notices.values():
            for held in [h for h in holders if h[0] == chat_key]:
                holders.discard(held)
