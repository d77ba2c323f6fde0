"""What every chat channel shares, built once: which channels are configured, the
conversation state and redelivery ledger (Redis when configured, in-process otherwise),
and the province's places for the conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from core.categories import Channel
from core.chat.places import GazetteerPlaces
from core.chat.state import ChatStateStore, MemoryChatStateStore, MemoryUpdateLedger, UpdateLedger
from core.triage.places import Gazetteer, package_province_names
from hotline.bootstrap import open_redis
from hotline.settings import Settings
from storage.redis_chat import RedisChatStateStore, RedisUpdateLedger


def configured_channels(settings: Settings) -> tuple[Channel, ...]:
    """The chat channels with a token: these get a bot, a webhook and a broadcast worker."""
    found: list[Channel] = []
    if settings.telegram_token:
        found.append(Channel.TELEGRAM)
    if settings.zalo_token:
        found.append(Channel.ZALO)
    return tuple(found)


@cache
def province_places(province_code: str) -> GazetteerPlaces:
    """The gazetteer takes about a second to index: built once per process."""
    gazetteer = Gazetteer()
    gazetteer.add_province_names(package_province_names())
    return GazetteerPlaces(gazetteer, province_code)


@asynccontextmanager
async def open_chat_storage(settings: Settings) -> AsyncIterator[tuple[ChatStateStore, UpdateLedger]]:
    """Redis when configured (several workers share conversations), in-process otherwise."""
    async with open_redis(settings) as redis:
        if redis is None:
            yield MemoryChatStateStore(), MemoryUpdateLedger()
        else:
            yield RedisChatStateStore(redis), RedisUpdateLedger(redis)
