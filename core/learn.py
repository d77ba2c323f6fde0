"""The published prevention library on the open web: what a reader may see of it, and how
often each item was viewed.

Only published items are shown; a retired one is gone (its page says so and points to its
audience). Views are one counter per item and day in Viet Nam's time, added up in memory
and written in batches: no address, cookie, user agent or time of day is ever kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from core.calendar import VN_TZ
from core.errors import DomainError, NotFound
from core.outreach.content import AUDIENCES, LANGUAGES, ContentItem, ItemState

#: Items on one audience page (older ones on the next pages) and in one feed.
PAGE_SIZE = 30
FEED_SIZE = 50
#: Pages a reader may ask for: beyond that is a hostile or broken link.
MAX_PAGE = 10_000

ViewKey = tuple[int, date]


class Retired(DomainError):
    """The item was withdrawn: its page answers 410 and points to its audience's page."""

    code = "retired"

    def __init__(self, item: ContentItem) -> None:
        super().__init__(f"content item {item.id} was retired")
        self.item = item


@dataclass(frozen=True)
class ItemViews:
    """Views of one item in a period (requests for its page, not people)."""

    item_id: int
    audience: str
    language: str
    title: str
    views: int


@dataclass(frozen=True)
class LibraryPage:
    items: Sequence[ContentItem]
    page: int
    has_older: bool


@dataclass(frozen=True)
class ItemPage:
    item: ContentItem
    #: The same message's published versions in the other languages.
    translations: Mapping[str, ContentItem]


class LearnStore(Protocol):
    async def stamp(self) -> str:
        """Changes whenever the set of published items changes (published texts never
        change), so that anything rendered from them can be reused until it does."""
        ...

    async def published(
        self, audiences: Sequence[str], language: str, *, offset: int, limit: int
    ) -> Sequence[ContentItem]:
        """Published items of these audiences in `language`, newest first."""
        ...

    async def last_change(self, audiences: Sequence[str], language: str) -> datetime | None:
        """The latest publication or retirement among these audiences' items."""
        ...

    async def item(self, item_id: int) -> ContentItem: ...

    async def translations(self, group: str) -> Mapping[str, ContentItem]:
        """The published versions of a message, by language."""
        ...

    async def all_published(self) -> Sequence[ContentItem]: ...

    async def add_views(self, counts: Mapping[ViewKey, int]) -> None:
        """Add the counts to the per-item, per-day counters (one upsert each)."""
        ...

    async def views(self, start: date, end: date) -> Sequence[ItemViews]:
        """Views per item between two days (both included), most viewed first."""
        ...


def audiences_of(audience: str) -> tuple[str, ...]:
    """An audience's page also lists the items written for everyone."""
    if audience not in AUDIENCES:
        raise NotFound(f"no audience {audience!r}")
    return (audience,) if audience == "general" else (audience, "general")


class ViewCounter:
    """Views counted in memory until the next flush; a failed write puts them back."""

    def __init__(self) -> None:
        self._counts: Counter[ViewKey] = Counter()

    def add(self, item_id: int, day: date) -> None:
        self._counts[(item_id, day)] += 1

    def drain(self) -> dict[ViewKey, int]:
        counts, self._counts = dict(self._counts), Counter()
        return counts

    def restore(self, counts: Mapping[ViewKey, int]) -> None:
        self._counts.update(counts)

    def pending(self) -> int:
        return sum(self._counts.values())


class LearnService:
    def __init__(
        self,
        store: LearnStore,
        *,
        clock: Callable[[], datetime],
        stamp_seconds: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.clock = clock
        self.counter = ViewCounter()
        self._flushing = asyncio.Lock()
        #: How long this process trusts its last look at the library (0: ask every time).
        self.stamp_seconds = stamp_seconds
        self._monotonic = monotonic
        self._stamp: tuple[str, float] | None = None
        self._stamp_lock = asyncio.Lock()

    async def stamp(self) -> str:
        """The library's version, asked of the database at most every `stamp_seconds`: a
        change made by any worker shows everywhere within that time."""
        if self.stamp_seconds <= 0:
            return await self.store.stamp()
        if self._stamp is not None and self._monotonic() < self._stamp[1]:
            return self._stamp[0]
        async with self._stamp_lock:  # one question when it runs out, not one per request
            now = self._monotonic()
            if self._stamp is not None and now < self._stamp[1]:
                return self._stamp[0]
            stamp = await self.store.stamp()
            self._stamp = (stamp, now + self.stamp_seconds)
            return stamp

    async def page(self, audience: str, language: str, page: int = 1) -> LibraryPage:
        """One page of an audience's published items in a language, newest first."""
        if language not in LANGUAGES:
            raise NotFound(f"no language {language!r}")
        if not 1 <= page <= MAX_PAGE:
            raise NotFound("no such page")
        offset = (page - 1) * PAGE_SIZE
        items = await self.store.published(
            audiences_of(audience), language, offset=offset, limit=PAGE_SIZE + 1
        )
        if page > 1 and not items:
            raise NotFound("no such page")
        return LibraryPage(items[:PAGE_SIZE], page, len(items) > PAGE_SIZE)

    async def feed(self, audience: str, language: str) -> tuple[Sequence[ContentItem], datetime | None]:
        """The newest items of an audience's feed and when the feed last changed."""
        if language not in LANGUAGES:
            raise NotFound(f"no language {language!r}")
        audiences = audiences_of(audience)
        items = await self.store.published(audiences, language, offset=0, limit=FEED_SIZE)
        return items, await self.store.last_change(audiences, language)

    async def item(self, item_id: int) -> ItemPage:
        """A published item and its translations; Retired if withdrawn, NotFound if it was
        never published (drafts are nobody's business outside the workspace)."""
        item = await self.store.item(item_id)
        if item.state == ItemState.RETIRED and item.published is not None:
            raise Retired(item)
        if item.state != ItemState.PUBLISHED:
            raise NotFound(f"content item {item_id} is not published")
        versions = await self.store.translations(item.group)
        return ItemPage(item, {lang: v for lang, v in versions.items() if lang != item.language})

    async def all_published(self) -> Sequence[ContentItem]:
        return await self.store.all_published()

    def count_view(self, item_id: int) -> None:
        """One more view of the item today (Viet Nam's date); nothing about the reader."""
        self.counter.add(item_id, self.clock().astimezone(VN_TZ).date())

    async def flush(self) -> int:
        """Write the counted views; on failure they stay counted for the next flush."""
        async with self._flushing:
            counts = self.counter.drain()
            if not counts:
                return 0
            try:
                await self.store.add_views(counts)
            except BaseException:
                self.counter.restore(counts)
                raise
            return sum(counts.values())

    async def views(self, start: date, end: date) -> Sequence[ItemViews]:
        """Views per item in the period, this worker's counted ones included (flushed
        first; if that write fails they stay counted and the figure is what is stored)."""
        with contextlib.suppress(Exception):
            await self.flush()
        return await self.store.views(start, end)


def views_by_audience(rows: Sequence[ItemViews]) -> dict[str, int]:
    """Total views per audience, every audience listed (zero where none)."""
    totals = dict.fromkeys(AUDIENCES, 0)
    for row in rows:
        totals[row.audience] = totals.get(row.audience, 0) + row.views
    return totals
